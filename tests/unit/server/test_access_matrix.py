"""The access matrix of issue 10: share levels × relations × actions, every cell asserted,
in-process on the memory store, and once more on SQLite and on PostgreSQL.

The owner (member of ``h1/g1/p1``) submits one job per share level. Each relation is a user
placed in the tree (same project, same group other project, same hub other group, other
hub, project/group/hub/server administrator) or no token at all. The expected answer of each
cell comes from the rules of the issue, written out here independently of ``core.access``:
a job a user may not read is a 404; one they may read but not change is a 403 on cancel,
rename and retag; no token is a 401; the shared listing shows exactly what a user may read of
others' jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openqx.core.access import Role
from openqx.store.database import Database
from openqx.store.sql_store import SqlJobStore
from tests import pg
from tests.conftest import E2E_TEMPLATE
from tests.unit.server.harness import ADMIN_TOKEN, Harness, open_harness

SHARES = ("none", "project", "group", "hub", "global")
RELATIONS = (
    "owner",
    "same_project",
    "same_group",
    "same_hub",
    "other_hub",
    "project_admin",
    "group_admin",
    "hub_admin",
    "server_admin",
    "no_token",
)
ACTIONS = (
    "retrieve",
    "status",
    "result",
    "events",
    "circuits",
    "shared_listing",
    "cancel",
    "rename",
    "retag",
)
HOME = "h1/g1/p1"
PLACES = {
    "owner": [HOME],
    "same_project": [HOME],
    "same_group": ["h1/g1/p2"],
    "same_hub": ["h1/g2/p3"],
    "other_hub": ["h2/g3/p4"],
    "project_admin": ["h2/g3/p4"],
    "group_admin": ["h2/g3/p4"],
    "hub_admin": ["h2/g3/p4"],
}
ADMIN_ROLES = {
    "project_admin": (HOME, Role.PROJECT_ADMIN),
    "group_admin": ("h1/g1", Role.GROUP_ADMIN),
    "hub_admin": ("h1", Role.HUB_ADMIN),
}
READS_THROUGH_SHARE = {
    "same_project": {"project", "group", "hub", "global"},
    "same_group": {"group", "hub", "global"},
    "same_hub": {"hub", "global"},
    "other_hub": {"global"},
}
ADMINS = {"project_admin", "group_admin", "hub_admin", "server_admin"}
CHANGES = {"cancel", "rename", "retag"}


def may_read(relation: str, share: str) -> bool:
    """The issue's read rule."""
    return relation == "owner" or relation in ADMINS or share in READS_THROUGH_SHARE[relation]


def expected(relation: str, share: str, action: str) -> Any:
    """The answer of one cell: an HTTP status, or for the listing whether the job appears."""
    if relation == "no_token":
        return 401
    readable = may_read(relation, share)
    if action == "shared_listing":
        return readable and relation != "owner"
    if not readable:
        return 404
    if action in CHANGES and relation != "owner" and relation not in ADMINS:
        return 403
    return 200


class World:
    """A service with the tree, one user per relation and one DONE job per share level."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        store = harness.store
        self.tokens: dict[str, str] = {"server_admin": ADMIN_TOKEN}
        for relation, instances in PLACES.items():
            token = f"token-{relation}-{id(self)}"
            store.create_user(f"{relation}-{id(self)}", token, instances=instances)
            self.tokens[relation] = token
        for relation, (scope, role) in ADMIN_ROLES.items():
            store.set_membership(f"{relation}-{id(self)}", scope, role)
        self.jobs = {
            share: harness.submit(self.tokens["owner"], share_level=share, shots=16)["id"]
            for share in SHARES
        }
        for job_id in self.jobs.values():
            assert harness.wait_final(job_id, self.tokens["owner"]) == "DONE"

    def act(self, relation: str, share: str, action: str) -> Any:
        """Perform ``action`` on the job of ``share`` as ``relation``."""
        client = self.harness.client
        headers = {} if relation == "no_token" else self.harness.headers(self.tokens[relation])
        job = f"/v1/jobs/{self.jobs[share]}"
        if action == "shared_listing":
            answer = client.post(
                "/v1/jobs/search?scope=shared", json={"limit": 100}, headers=headers
            )
            if answer.status_code != 200:
                return answer.status_code
            return self.jobs[share] in {j["id"] for j in answer.json()["jobs"]}
        if action == "retrieve":
            answer = client.get(job, headers=headers)
        elif action in ("status", "result", "events", "circuits"):
            answer = client.get(f"{job}/{action}", headers=headers)
        elif action == "cancel":
            answer = client.post(f"{job}/cancel", headers=headers)
        elif action == "rename":
            answer = client.patch(job, json={"name": f"by-{relation}"}, headers=headers)
        else:
            answer = client.patch(job, json={"tags": [f"by-{relation}"]}, headers=headers)
        return answer.status_code


def _world(store: SqlJobStore | None) -> Iterator[World]:
    with open_harness(store=store) as harness:
        yield World(harness)


@pytest.fixture(scope="module")
def memory_world() -> Iterator[World]:
    """The world on the memory store."""
    yield from _world(None)


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The world on a migrated SQLite file."""
    path: Path = tmp_path_factory.mktemp("matrix") / "openqx.db"
    with Database(f"sqlite:///{path}") as database:
        database.upgrade()
        yield from _world(SqlJobStore(database))


@pytest.fixture(scope="module")
def postgres_world(postgres_server: pg.PostgresServer) -> Iterator[World]:
    """The world on a migrated PostgreSQL database."""
    url = pg.clone_database(postgres_server, E2E_TEMPLATE)
    try:
        with Database(url) as database:
            yield from _world(SqlJobStore(database))
    finally:
        pg.drop_database(postgres_server, url)


CELLS = [
    pytest.param(share, relation, action, id=f"{share}-{relation}-{action}")
    for share in SHARES
    for relation in RELATIONS
    for action in ACTIONS
]


@pytest.mark.parametrize(("share", "relation", "action"), CELLS)
def test_access_matrix_memory(memory_world: World, share: str, relation: str, action: str) -> None:
    assert memory_world.act(relation, share, action) == expected(relation, share, action)


@pytest.mark.parametrize(("share", "relation", "action"), CELLS)
def test_access_matrix_sqlite(sqlite_world: World, share: str, relation: str, action: str) -> None:
    assert sqlite_world.act(relation, share, action) == expected(relation, share, action)


@pytest.mark.postgres
@pytest.mark.parametrize(("share", "relation", "action"), CELLS)
def test_access_matrix_postgresql(
    postgres_world: World, share: str, relation: str, action: str
) -> None:
    assert postgres_world.act(relation, share, action) == expected(relation, share, action)


def test_the_matrix_has_every_cell() -> None:
    assert len(CELLS) == len(SHARES) * len(RELATIONS) * len(ACTIONS) == 450
    answers = {expected(r, s, a) for s in SHARES for r in RELATIONS for a in ACTIONS}
    assert answers == {200, 401, 403, 404, True, False}
