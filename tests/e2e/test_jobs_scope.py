"""Issue 10, the shared listing through the client: two users of one project, one shares a
job at ``project`` level; ``scope="shared"`` and ``"all"`` list it for the other, ``"own"``
(the default) does not; a job shared at ``none`` never appears. A real server on SQLite and
PostgreSQL; users, project and device made through the admin API."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from openqx.client import OpenQX
from openqx.client.http import ApiClient
from openqx.client.provider import AccountProvider
from openqx.core import tenancy_wire as tw
from openqx.core import wire
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import ghz

PROJECT = "scopehub/lab/team"
DEVICE = "simulator_stabilizer"


@dataclass
class Team:
    """Two members of ``PROJECT`` and their jobs."""

    ann: AccountProvider
    ben: AccountProvider
    ann_shared: str
    ann_private: str
    ben_own: str


@pytest.fixture(scope="module")
def team(server: EmbeddedServer) -> Team:
    with ApiClient(server.url, server.token) as admin:
        for unit in ("scopehub", "scopehub/lab", PROJECT):
            admin.admin("POST", "/admin/units", body=tw.UnitCreate(name=unit))
        admin.admin(
            "PUT", "/admin/devices", body=tw.DeviceGrantUpdate(instance=PROJECT, backend=DEVICE)
        )
        tokens = {
            name: admin.admin(
                "POST", "/admin/users", body=wire.UserCreate(name=name, instances=[PROJECT])
            )["token"]
            for name in ("ann", "ben")
        }
    ann = OpenQX.enable_account(tokens["ann"], url=server.url)
    ben = OpenQX.enable_account(tokens["ben"], url=server.url)
    shared = ann.get_backend(DEVICE).run(ghz(2), shots=10, job_share_level="project")
    private = ann.get_backend(DEVICE).run(ghz(2), shots=10, job_share_level="none")
    own = ben.get_backend(DEVICE).run(ghz(2), shots=10)
    return Team(ann, ben, shared.job_id(), private.job_id(), own.job_id())


def test_own_jobs_are_the_default(team: Team) -> None:
    assert [j.job_id() for j in team.ben.backend.jobs()] == [team.ben_own]
    assert team.ben.backend.job_ids() == [team.ben_own]
    assert [j.job_id() for j in team.ben.get_backend(DEVICE).jobs()] == [team.ben_own]
    assert set(team.ann.backend.job_ids()) == {team.ann_shared, team.ann_private}


def test_shared_listing_shows_the_project_shared_job_only(team: Team) -> None:
    shared = team.ben.backend.jobs(scope="shared")
    assert [j.job_id() for j in shared] == [team.ann_shared]
    assert shared[0].info.owner == "ann"
    assert team.ben.backend.job_ids(scope="shared") == [team.ann_shared]
    on_device = team.ben.get_backend(DEVICE).jobs(scope="shared")
    assert [j.job_id() for j in on_device] == [team.ann_shared]
    # Newest first: ben's job was submitted last.
    assert team.ben.backend.job_ids(scope="all") == [team.ben_own, team.ann_shared]
    # The job listed as shared can be opened and waited on like one's own.
    assert shared[0].result(timeout=120).get_counts()
    # Ann's side: ben shared nothing.
    assert team.ann.backend.job_ids(scope="shared") == []
