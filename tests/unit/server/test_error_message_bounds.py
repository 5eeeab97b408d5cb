"""An error message that quotes the request's own value is cut at ``MAX_MESSAGE_CHARACTERS``,
saying how much was left out (a 10,000-item filter list was answered as a 140 KB message)."""

from __future__ import annotations

from openqx.server.errors import MAX_MESSAGE_CHARACTERS
from tests.unit.server.harness import Harness


def test_a_message_quoting_a_huge_value_is_cut(harness: Harness) -> None:
    token = harness.new_user()
    answer = harness.client.post(
        "/v1/jobs/search",
        json={"db_filter": {"name": ["a" * 10] * 10_000}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 400, answer.text
    message = answer.json()["error"]["message"]
    assert message.startswith("Value ['aaaaaaaaaa'")
    assert len(message) < MAX_MESSAGE_CHARACTERS + 50
    assert message.endswith("more characters)")


def test_a_short_message_is_whole(harness: Harness) -> None:
    token = harness.new_user()
    answer = harness.client.post(
        "/v1/jobs/search",
        json={"db_filter": {"name": ["a"]}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"] == "Value ['a'] for 'name' must be a string."
