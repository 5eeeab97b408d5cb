"""Unit names and new users on every store (memory, SQLite, PostgreSQL): control and invisible
formatting characters are refused with nothing changed, and a taken token is told apart from
a taken name (without saying whose token it is)."""

from __future__ import annotations

import re

import pytest

from openqx.core.access import Role
from openqx.core.errors import InvalidInputError
from openqx.store.sql_store import SqlJobStore

BAD_PARTS = {"NUL": "\x00", "BEL": "\x07", "RLO": "\u202e", "ZWSP": "\u200b"}
"""Characters of Unicode category C, each with its code point in the message."""


@pytest.mark.parametrize("char", list(BAD_PARTS.values()), ids=list(BAD_PARTS))
def test_unit_names_with_control_characters_are_refused(store: SqlJobStore, char: str) -> None:
    store.create_unit("h")
    store.create_unit("h/g")
    store.create_unit("h/g/p")
    before = store.list_units()
    code_point = re.escape(f"U+{ord(char):04X}")
    for name in (f"h{char}", f"h/g{char}", f"h/g/p{char}", f"h/g/{char}evil"):
        with pytest.raises(InvalidInputError, match=code_point):
            store.create_unit(name)
    with pytest.raises(InvalidInputError, match=code_point):
        store.rename_unit("h/g/p", f"p{char}")
    with pytest.raises(InvalidInputError, match=code_point):
        store.set_membership("nobody", f"h/g/p{char}", Role.MEMBER)
    with pytest.raises(InvalidInputError, match=code_point):
        store.create_user("zed", "zed-token", instances=[f"h/g/q{char}"])
    assert store.list_units() == before
    assert [u.name for u in store.list_users()] == []


def test_ordinary_names_keep_working(store: SqlJobStore) -> None:
    for name in ("uni-1.x_y", "uni-1.x_y/Fall 2026", "uni-1.x_y/Fall 2026/café"):
        store.create_unit(name)
    renamed = store.rename_unit("uni-1.x_y/Fall 2026/café", "Team Ω")
    assert renamed.name == "uni-1.x_y/Fall 2026/Team Ω"
    user = store.create_user("ann", "ann-token", instances=[renamed.name])
    assert user.instances == (renamed.name,)


def test_a_taken_token_is_not_reported_as_a_taken_name(store: SqlJobStore) -> None:
    store.create_user("owner", "shared-token")
    with pytest.raises(InvalidInputError) as refused:
        store.create_user("zed3", "shared-token")
    assert str(refused.value) == "That token is already in use; choose another."
    assert "owner" not in str(refused.value) and "zed3" not in str(refused.value)
    with pytest.raises(InvalidInputError, match="User 'owner' already exists"):
        store.create_user("owner", "another-token")
    assert [u.name for u in store.list_users()] == ["owner"]
