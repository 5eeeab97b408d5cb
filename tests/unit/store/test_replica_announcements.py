"""``parse_announcement``: the payload migration 0010 sends, and what is not one."""

from __future__ import annotations

import pytest

from openqx.core.status import JobStatus
from openqx.store.replica_changes import JobChange, parse_announcement


def test_an_announcement_names_origin_job_status_and_cancel_request() -> None:
    assert parse_announcement("ab12|job-1|RUNNING|1") == (
        "ab12",
        JobChange("job-1", JobStatus.RUNNING, True),
    )


def test_a_writer_without_an_origin_is_nobody_in_particular() -> None:
    assert parse_announcement("|job-1|QUEUED|0") == (
        "",
        JobChange("job-1", JobStatus.QUEUED, False),
    )


def test_a_status_this_version_does_not_know_still_names_the_job() -> None:
    assert parse_announcement("o|job-1|PAUSED|0") == ("o", JobChange("job-1", None, False))


@pytest.mark.parametrize("payload", ["", "job-1", "o|job-1|DONE", "o||DONE|0", "a|b|c|d|e"])
def test_other_payloads_are_not_announcements(payload: str) -> None:
    assert parse_announcement(payload) is None
