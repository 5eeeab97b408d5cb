"""Store contract, users: tokens, instances, backend settings (every ``JobStore``)."""

from __future__ import annotations

import pytest

from openqx.core.clock import ManualClock
from openqx.core.errors import AuthenticationError, InvalidInputError
from openqx.core.ids import hash_token
from openqx.store.port import JobStore


def test_users_and_tokens(store: JobStore, clock: ManualClock) -> None:
    assert store.count_users() == 0
    admin = store.create_user("root", "t0", is_admin=True, instances=["a/b/c", "d/e/f", "a/b/c"])
    bob = store.create_user("bob", "t1")
    assert admin.instances == ("a/b/c", "d/e/f") and admin.is_admin
    assert bob.instances == () and not bob.is_admin
    assert store.count_users() == 2
    assert store.user_for_token("t1") == bob
    assert store.user_for_token("t0") == admin
    assert [u.name for u in store.list_users()] == ["root", "bob"]
    assert store.list_users()[0].instances == ("a/b/c", "d/e/f")
    assert admin.created_at == clock.now()
    with pytest.raises(AuthenticationError):
        store.user_for_token("wrong")
    with pytest.raises(InvalidInputError, match="bob"):
        store.create_user("bob", "t2")


def test_token_is_hashed(store: JobStore) -> None:
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    store.create_user("carol", "abc")
    with pytest.raises(InvalidInputError):  # the digest is unique too
        store.create_user("dave", "abc")


def test_backend_limits(store: JobStore) -> None:
    assert store.backend_job_limit("manila") is None
    store.set_backend_job_limit("manila", 5)
    assert store.backend_job_limit("manila") == 5
    store.set_backend_job_limit("manila", 2)
    assert store.backend_job_limit("manila") == 2
    store.set_backend_job_limit("manila", None)
    assert store.backend_job_limit("manila") is None
    with pytest.raises(InvalidInputError):
        store.set_backend_job_limit("manila", -1)
