"""The tenancy tables on every store (memory, SQLite, PostgreSQL): units, memberships, device
grants, tokens, the shared listing, the audit log, and the upgrade of a 0004 database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from openqx.core.access import Membership, Role
from openqx.core.errors import AuthenticationError, InvalidInputError, NotFoundError
from openqx.core.instances import DEFAULT_INSTANCE
from openqx.core.wire import JobQuery
from openqx.store.memory_store import MemoryJobStore
from openqx.store.records import JobRecord, UserRecord
from openqx.store.sql_store import SqlJobStore
from tests.integration.store.conftest import new_job

UserFactory = Callable[..., UserRecord]


def _ids(store: SqlJobStore, user: UserRecord, scope: str) -> set[str]:
    page, _ = store.search_jobs(JobQuery(limit=100), visible_to=user, scope=scope)
    return {j.id for j in page}


def test_units_are_created_listed_renamed_and_shared(store: SqlJobStore) -> None:
    store.create_unit("uni")
    store.create_unit("uni/course", share=3)
    store.create_unit("uni/course/team1")
    assert [(u.name, u.kind, u.share) for u in store.list_units("uni")] == [
        ("uni", "hub", 1),
        ("uni/course", "group", 3),
        ("uni/course/team1", "project", 1),
    ]
    with pytest.raises(InvalidInputError, match="already exists"):
        store.create_unit("uni/course")
    with pytest.raises(NotFoundError, match="no group 'uni/nope'"):
        store.create_unit("uni/nope/p")
    with pytest.raises(InvalidInputError):
        store.create_unit("uni/ bad")
    assert store.set_unit_share("uni/course/team1", 5).share == 5
    renamed = store.rename_unit("uni/course", "fall")
    assert renamed.name == "uni/fall"
    assert [u.name for u in store.list_units("uni")] == ["uni", "uni/fall", "uni/fall/team1"]
    assert store.get_unit("uni/fall/team1").share == 5


def test_rename_moves_jobs_memberships_and_grants(
    store: SqlJobStore, user_factory: UserFactory
) -> None:
    alice = user_factory(instances=["lab/g/p"])
    store.set_membership(alice.name, "lab/g", Role.GROUP_ADMIN)
    store.grant_device("lab/g/p", "fake_manila", job_limit=2)
    job = store.create_job(new_job(alice.id, instance="lab/g/p"))
    store.rename_unit("lab", "lab2")
    assert store.get_job(job.id).instance == "lab2/g/p"
    assert set(store.user_memberships(alice.name)) == {
        Membership("lab2/g/p", Role.MEMBER),
        Membership("lab2/g", Role.GROUP_ADMIN),
    }
    assert [g.backend for g in store.device_grants("lab2/g/p")] == ["fake_manila"]
    assert store.device_grants("lab/g/p") == []
    page, _ = store.search_jobs(JobQuery(db_filter={"hubInfo.hub.name": "lab2"}))
    assert [j.id for j in page] == [job.id]


def test_memberships_roles_and_depth(store: SqlJobStore, user_factory: UserFactory) -> None:
    bob = user_factory(instances=["h/g/p1"])
    store.create_unit("h/g/p2")
    store.set_membership(bob.name, "h/g/p2", Role.PROJECT_ADMIN)
    store.set_membership(bob.name, "h", Role.HUB_ADMIN)
    with pytest.raises(InvalidInputError, match="group_admin is held over a group"):
        store.set_membership(bob.name, "h/g/p1", Role.GROUP_ADMIN)
    with pytest.raises(NotFoundError):
        store.set_membership(bob.name, "nohub", Role.HUB_ADMIN)
    with pytest.raises(NotFoundError):
        store.set_membership("nobody", "h", Role.HUB_ADMIN)
    record = store.user_for_token(f"{bob.name}-token")
    assert record.instances == ("h/g/p1", "h/g/p2")
    assert Membership("h", Role.HUB_ADMIN) in record.memberships
    store.remove_membership(bob.name, "h/g/p1")
    assert store.user_for_token(f"{bob.name}-token").instances == ("h/g/p2",)
    with pytest.raises(NotFoundError):
        store.remove_membership(bob.name, "h/g/p1")


def test_tokens_rotate_revoke_and_disable_at_once(
    store: SqlJobStore, user_factory: UserFactory
) -> None:
    carol = user_factory()
    store.set_token(carol.name, "new-token")
    with pytest.raises(AuthenticationError):
        store.user_for_token(f"{carol.name}-token")
    assert store.user_for_token("new-token").id == carol.id
    store.set_user_flags(carol.name, disabled=True)
    with pytest.raises(AuthenticationError):
        store.user_for_token("new-token")
    store.set_user_flags(carol.name, disabled=False)
    assert store.user_for_token("new-token").id == carol.id
    store.set_token(carol.name, None)
    with pytest.raises(AuthenticationError):
        store.user_for_token("new-token")
    stored = store.database.engine.connect().execute(
        sa.text("SELECT token_hash FROM users WHERE id = :i"), {"i": carol.id}
    )
    assert "new-token" not in stored.scalar_one()


def test_device_grants_and_limits(store: SqlJobStore) -> None:
    store.create_unit("h")
    store.create_unit("h/g")
    store.create_unit("h/g/p")
    grant = store.grant_device("h/g/p", "fake_manila", job_limit=2, max_shots=4000)
    assert (grant.job_limit, grant.max_shots, grant.max_circuits) == (2, 4000, None)
    assert store.grant_device("h/g/p", "fake_manila").job_limit is None  # limit removed
    with pytest.raises(InvalidInputError, match="job_limit"):
        store.grant_device("h/g/p", "fake_manila", job_limit=-1)
    with pytest.raises(NotFoundError):
        store.grant_device("h/g/none", "fake_manila")
    store.revoke_device("h/g/p", "fake_manila")
    assert store.device_grants("h/g/p") == []
    with pytest.raises(NotFoundError):
        store.revoke_device("h/g/p", "fake_manila")


def test_backend_job_limit_none_means_no_limit(store: SqlJobStore) -> None:
    assert store.configured_job_limit("fake_manila") == (False, None)
    store.set_backend_job_limit("fake_manila", None)
    assert store.configured_job_limit("fake_manila") == (True, None)
    store.clear_job_limit("fake_manila")
    assert store.configured_job_limit("fake_manila") == (False, None)


def test_job_limit_counts_per_instance(store: SqlJobStore, user_factory: UserFactory) -> None:
    dave = user_factory(instances=["h/g/a", "h/g/b"])
    store.create_job(new_job(dave.id, instance="h/g/a"), max_active=1)
    store.create_job(new_job(dave.id, instance="h/g/b"), max_active=1)
    assert store.count_active_in(dave.id, "fake_manila", "h/g/a") == 1


@pytest.mark.parametrize(
    ("share", "seen_by"),
    [
        ("none", set()),
        ("project", {"teammate"}),
        ("group", {"teammate", "groupmate"}),
        ("hub", {"teammate", "groupmate", "hubmate"}),
        ("global", {"teammate", "groupmate", "hubmate", "stranger"}),
    ],
)
def test_shared_listing_follows_share_levels(
    store: SqlJobStore, user_factory: UserFactory, share: str, seen_by: set[str]
) -> None:
    owner = user_factory(instances=["h/g/p"])
    people = {
        "teammate": user_factory(instances=["h/g/p"]),
        "groupmate": user_factory(instances=["h/g/q"]),
        "hubmate": user_factory(instances=["h/f/r"]),
        "stranger": user_factory(instances=["x/y/z"]),
    }
    job = store.create_job(new_job(owner.id, instance="h/g/p", share_level=share))
    for name, person in people.items():
        assert (job.id in _ids(store, person, "shared")) == (name in seen_by), name
        assert job.id not in _ids(store, person, "own")
    assert _ids(store, owner, "own") == {job.id}
    assert _ids(store, owner, "shared") == set()


def test_admins_list_their_subtree(store: SqlJobStore, user_factory: UserFactory) -> None:
    owner = user_factory(instances=["h/g/p"])
    inside = store.create_job(new_job(owner.id, instance="h/g/p"))
    other = user_factory(instances=["k/g/p"])
    outside = store.create_job(new_job(other.id, instance="k/g/p"))
    admin = user_factory(instances=[])
    store.set_membership(admin.name, "h/g", Role.GROUP_ADMIN)
    admin = store.user_for_token(f"{admin.name}-token")
    assert _ids(store, admin, "shared") == {inside.id}
    assert outside.id not in _ids(store, admin, "all")


def test_audit_entries_by_scope(store: SqlJobStore) -> None:
    store.record_audit("root", "create_unit", "h", "h", {})
    store.record_audit("root", "create_unit", "k/g", "k/g", {"share": 1})
    store.record_audit("root", "create_user", "eve", "", {})
    assert [e.target for e in store.audit_entries()] == ["eve", "k/g", "h"]
    assert [e.target for e in store.audit_entries(["k"])] == ["k/g"]
    assert store.audit_entries([]) == []


def _downgrade(store: SqlJobStore, revision: str) -> None:
    config = store.database.alembic_config()
    with store.database.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


def test_0005_upgrades_a_0004_database_with_users_and_jobs(
    store: SqlJobStore, user_factory: UserFactory, job_factory: Callable[..., JobRecord]
) -> None:
    """Users and jobs of a 0004 database land in the tenancy model and keep working."""
    if isinstance(store, MemoryJobStore):
        pytest.skip("the memory store is built from the models, not migrated")
    member = user_factory(name="member", instances=["lab/g/p"])
    loner = user_factory(name="loner", instances=[])
    mine = job_factory(owner_id=member.id, instance="lab/g/p", share_level="project")
    theirs = job_factory(owner_id=loner.id, instance=DEFAULT_INSTANCE)
    store.set_backend_job_limit("ibmq_qasm_simulator", None)  # meant "the default" before
    store.set_backend_job_limit("fake_manila", 3)
    _downgrade(store, "0004")
    with store.database.engine.begin() as conn:
        assert "hubs" not in sa.inspect(conn).get_table_names()
    store.database.upgrade()
    head = ScriptDirectory.from_config(store.database.alembic_config()).get_current_head()
    assert store.database.current_revision() == head
    assert store.user_for_token("member-token").instances == ("lab/g/p",)
    assert store.user_for_token("loner-token").instances == (DEFAULT_INSTANCE,)
    assert {u.name for u in store.list_units()} >= {
        "lab",
        "lab/g",
        "lab/g/p",
        "openqx",
        "openqx/main",
        DEFAULT_INSTANCE,
    }
    assert _ids(store, store.user_for_token("member-token"), "own") == {mine.id}
    assert _ids(store, store.user_for_token("loner-token"), "own") == {theirs.id}
    assert store.configured_job_limit("ibmq_qasm_simulator") == (False, None)
    assert store.configured_job_limit("fake_manila") == (True, 3)
    newcomer: dict[str, Any] = {"instances": ["lab/g/p"]}
    teammate = user_factory(name="teammate", **newcomer)
    assert _ids(store, teammate, "shared") == {mine.id}
