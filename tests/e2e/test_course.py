"""The course scenario of issue 10, end to end through ``openqx admin`` and the client.

An instructor, group administrator of ``uni/course-fall``, creates three team projects, adds
six students, enables ``fake_manila`` with a job limit of 2 and at most 4,000 shots. Students
submit with ``job_share_level="project"``; teammates retrieve each other's results, other
teams get a 404; the instructor lists and cancels any job of the group; a revoked token is
refused at once.

The service runs in-process (memory store, then SQLite) on a ``HeldExecutor`` so that jobs
stay RUNNING or QUEUED until the test finishes them (the job limit and the cancel need active
jobs, without racing a fast executor). The CLI runs as ``openqx admin`` does, from argument
parsing to its commands, with its ``ApiClient`` on the in-process server; the client is the
real ``OpenQX.enable_account`` → provider → backend → job.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openqx.cli import admin as admin_cli
from openqx.cli.main import build_parser
from openqx.client import exceptions as exc
from openqx.client.account import OpenQX
from openqx.client.http import ApiClient
from openqx.client.provider import AccountProvider
from openqx.connection.failures import ErrorAnswer
from openqx.connection.session import ServerSession
from openqx.core import wire
from openqx.store.database import Database
from openqx.store.sql_store import SqlJobStore
from tests.unit.server.harness import (
    ADMIN_TOKEN,
    BASE_URL,
    Harness,
    HeldExecutor,
    bell,
    open_harness,
    small_catalog,
)

GROUP = "uni/course-fall"
TEAMS = [f"{GROUP}/team{i}" for i in (1, 2, 3)]


class Course:
    """The running service, the held executor and a CLI bound to it."""

    def __init__(self, harness: Harness, held: HeldExecutor) -> None:
        self.harness = harness
        self.held = held

    def api(self, token: str) -> ApiClient:
        return ApiClient(BASE_URL, token, transport=self.harness.client._transport, retries=0)

    def cli(self, token: str, *args: str) -> Any:
        """Run ``openqx admin <args>`` as ``token``; return its JSON output."""
        parsed = build_parser().parse_args(["admin", "--url", BASE_URL, "--token", token, *args])
        transport = self.harness.client._transport
        session = ServerSession(BASE_URL, token, transport=transport, retries=0)
        try:
            return json.loads(admin_cli._run(session, parsed))
        finally:
            session.close()

    def provider(self, token: str) -> AccountProvider:
        return OpenQX.enable_account(
            token, BASE_URL, transport=self.harness.client._transport, retries=0
        )


@pytest.fixture(params=["memory", "sqlite"])
def course(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Course]:
    held = HeldExecutor(small_catalog())
    if request.param == "memory":
        with open_harness(executor=held) as harness:
            yield Course(harness, held)
        return
    with Database(f"sqlite:///{tmp_path / 'course.db'}") as database:
        database.upgrade()
        with open_harness(executor=held, store=SqlJobStore(database)) as harness:
            yield Course(harness, held)


def test_course(course: Course) -> None:
    # The server administrator sets up the course group and its instructor.
    course.cli(ADMIN_TOKEN, "create-unit", "uni")
    course.cli(ADMIN_TOKEN, "create-unit", GROUP)
    prof = course.cli(ADMIN_TOKEN, "create-user", "prof")["token"]
    role = course.cli(ADMIN_TOKEN, "add-member", "prof", GROUP, "--role", "group_admin")
    assert role == {"scope": GROUP, "role": "group_admin"}

    # The instructor builds the course inside the group.
    students: dict[str, tuple[str, str]] = {}
    for i, team in enumerate(TEAMS):
        assert course.cli(prof, "create-unit", team)["kind"] == "project"
        grant = course.cli(
            prof, "enable-device", team, "fake_manila", "--job-limit", "2", "--max-shots", "4000"
        )
        assert (grant["job_limit"], grant["max_shots"], grant["max_circuits"]) == (2, 4000, None)
        for j in (1, 2):
            name = f"student{2 * i + j}"
            students[name] = (
                team,
                course.cli(prof, "create-user", name, "--instance", team)["token"],
            )
    # ... and nothing outside it.
    with pytest.raises(ErrorAnswer) as refused:
        course.cli(prof, "create-unit", "uni/other-course")
    assert refused.value.status == 403 and refused.value.code == "permission_denied"
    assert [u["name"] for u in course.cli(ADMIN_TOKEN, "units", "--under", "uni")] == [
        "uni",
        GROUP,
        *TEAMS,
    ]

    # Students see their instance and only the enabled device.
    s1 = course.provider(students["student1"][1])
    assert s1.credentials.instance == TEAMS[0]
    assert [b.name for b in s1.backends()] == ["fake_manila"]
    manila = s1.get_backend("fake_manila")
    first = manila.run(bell(), shots=1000, job_share_level="project")
    running = course.held.next_job()
    assert running == first.job_id()
    second = manila.run(bell(), shots=1000, job_share_level="project")
    assert manila.remaining_jobs_count() == 0
    with pytest.raises(exc.OpenQXBackendJobLimitError):
        manila.run(bell(), shots=1000, job_share_level="project")
    with pytest.raises(exc.OpenQXError, match="maximum of 4000"):
        course.api(students["student1"][1]).submit_job(
            wire.JobSubmission(backend="fake_manila", qpy=_qpy(), shots=5000)
        )
    with pytest.raises(exc.OpenQXNotAuthorizedError, match="ibmq_qasm_simulator.*team1"):
        course.api(students["student1"][1]).submit_job(
            wire.JobSubmission(backend="ibmq_qasm_simulator", qpy=_qpy(), shots=10)
        )

    # Teammates read each other's results; other teams do not see the job at all.
    course.held.finish(running)
    teammate = course.provider(students["student2"][1])
    result = teammate.backend.retrieve_job(first.job_id()).result()
    assert sum(result.get_counts().values()) == 1000
    other_team = course.provider(students["student3"][1])
    with pytest.raises(exc.OpenQXError) as missing:
        other_team.backend.retrieve_job(first.job_id())
    assert missing.value.status_code == 404

    # The instructor lists every job of the group and cancels any of them.
    listed = course.api(prof).search_jobs(wire.JobQuery(limit=50), scope="shared")
    assert {j.id for j in listed.jobs} == {first.job_id(), second.job_id()}
    assert course.api(prof).cancel_job(second.job_id()).cancelled
    assert s1.backend.retrieve_job(second.job_id()).status().name == "CANCELLED"
    audit = course.cli(prof, "audit")
    assert (audit[0]["actor"], audit[0]["action"], audit[0]["target"]) == (
        "prof",
        "cancel_job",
        second.job_id(),
    )

    # A revoked token is refused at once.
    course.cli(prof, "revoke-token", "student1")
    with pytest.raises(exc.OpenQXAccountCredentialsInvalidToken):
        course.api(students["student1"][1]).account()


def _qpy() -> str:
    from tests.unit.server.harness import qpy_b64

    return qpy_b64(bell())
