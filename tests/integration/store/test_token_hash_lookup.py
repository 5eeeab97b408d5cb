"""``store.user_for_token_hash``: what a dashboard session checks on every request, on SQLite
and PostgreSQL — the user while its token is the one hashed, nobody once the token is rotated
or revoked or the user disabled."""

from __future__ import annotations

import pytest

from openqx.core.access import Role
from openqx.core.errors import AuthenticationError
from openqx.core.ids import hash_token
from openqx.store.sql_store import SqlJobStore
from tests.integration.store.conftest import UserFactory


def test_user_for_token_hash_follows_the_token(
    store: SqlJobStore, user_factory: UserFactory
) -> None:
    dana = user_factory()
    old = hash_token(f"{dana.name}-token")
    store.create_unit("h")
    store.set_membership(dana.name, "h", Role.HUB_ADMIN)
    found = store.user_for_token_hash(old)
    assert found.id == dana.id and found.name == dana.name
    assert found == store.user_by_name(dana.name)  # memberships included
    store.set_user_flags(dana.name, disabled=True)
    with pytest.raises(AuthenticationError):
        store.user_for_token_hash(old)
    store.set_user_flags(dana.name, disabled=False)
    assert store.user_for_token_hash(old).id == dana.id
    store.set_token(dana.name, "rotated-token")
    with pytest.raises(AuthenticationError):
        store.user_for_token_hash(old)
    assert store.user_for_token_hash(hash_token("rotated-token")).id == dana.id
    store.set_token(dana.name, None)
    for digest in (hash_token("rotated-token"), f"revoked:{dana.id}", "", "0" * 64):
        with pytest.raises(AuthenticationError):
            store.user_for_token_hash(digest)
