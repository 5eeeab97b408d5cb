"""The admin user of a fresh store, created once even when replicas start together: a
server that finds none, then loses the race to create it, keeps the other server's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openqx.core.errors import InvalidInputError
from openqx.core.instances import DEFAULT_INSTANCE
from openqx.server.service import ADMIN_NAME, Service
from openqx.server.settings import Settings
from openqx.store.blobs import MemoryBlobStore
from openqx.store.memory_store import MemoryJobStore
from tests.unit.scheduler.fakes import ControlledExecutor
from tests.unit.server.harness import small_catalog


@pytest.fixture
def store() -> Iterator[MemoryJobStore]:
    with MemoryJobStore() as store:
        yield store


def _service(store: MemoryJobStore) -> Service:
    return Service(
        store=store,
        blobs=MemoryBlobStore(),
        executor=ControlledExecutor(),
        catalog=small_catalog(),
        settings=Settings(admin_token="this-servers-token"),
        stop_timeout=0,
    )


def test_an_admin_created_by_another_replica_meanwhile_is_kept(
    store: MemoryJobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_user(ADMIN_NAME, "other-token", is_admin=True, instances=[DEFAULT_INSTANCE])
    counts = iter([0])  # this server looked before the other one created its admin
    real_count = store.count_users
    monkeypatch.setattr(store, "count_users", lambda: next(counts, None) or real_count())
    service = _service(store)
    try:
        service.open()
        assert [user.name for user in store.list_users()] == [ADMIN_NAME]
        assert store.user_for_token("other-token").name == ADMIN_NAME
    finally:
        service.close()


def test_a_store_that_refuses_the_admin_for_another_reason_stops_the_start(
    store: MemoryJobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise InvalidInputError("refused")

    monkeypatch.setattr(store, "create_user", refuse)
    service = _service(store)
    try:
        with pytest.raises(InvalidInputError, match="refused"):
            service.open()
    finally:
        service.close()
