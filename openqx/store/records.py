"""Plain records that the store hands to the layers above (no SQLAlchemy objects leak out).

``JobRecord`` is the one declaration of a stored job's fields: the ``jobs`` columns
(``models.Job``) carry the same names, ``rows.py`` converts by name in both directions,
``server.views.job_info`` copies every field ``JobInfo`` shares with it, and ``new_job`` fills
a ``NewJob`` from a request body by name. ``tests/unit/store/test_job_fields.py`` checks that
these declarations agree. To add a job field: a column in ``models.Job`` and a migration, the
field here (in ``JobRecord``, and in ``NewJob`` if it is set at submission), the wire schema
(``JobSubmission``/``JobInfo``) and the client method that sends or reads it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openqx.core.access import Membership, Role, Viewer
from openqx.core.instances import DEFAULT_INSTANCE
from openqx.core.status import JobStatus

__all__ = ["NEW_JOB_FIELDS", "JobRecord", "NewJob", "UserRecord", "new_job"]


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user, the instances (``hub/group/project``) it belongs to, default first, and every
    membership (``core.access``: roles over projects, groups and hubs)."""

    id: int
    name: str
    is_admin: bool
    instances: tuple[str, ...]
    created_at: datetime
    memberships: tuple[Membership, ...] = ()
    disabled: bool = False

    @property
    def projects(self) -> tuple[str, ...]:
        """The instances the user acts through, default first: ``instances``, or the default
        instance for a user without any (where their jobs are filed)."""
        return self.instances or (DEFAULT_INSTANCE,)

    @property
    def viewer(self) -> Viewer:
        """What this user may see and change (``core.access.Viewer``)."""
        held = self.memberships or tuple(Membership(i, Role.MEMBER) for i in self.instances)
        if not self.instances:
            held = (*held, Membership(DEFAULT_INSTANCE, Role.MEMBER))
        return Viewer(self.id, self.is_admin, held)


@dataclass(slots=True)
class NewJob:
    """Everything needed to insert a job; each field is the ``JobRecord`` field of that name.

    The store sets the rest: status QUEUED, the time stamps, and the payload key
    (``blobs.job_payload_key`` of id and kind, where the caller has written the payload).
    """

    id: str
    kind: str  # "circuits" | "runtime"
    backend: str
    owner_id: int
    instance: str
    num_circuits: int
    shots: int | None
    memory: bool = False
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    share_level: str = "none"
    experiment_id: str | None = None
    program_id: str | None = None
    header: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    snapshot_id: str | None = None
    live_data_enabled: bool | None = None
    client_info: dict[str, str] = field(default_factory=dict)
    priority: int = 0


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A stored job (everything but payload and result blobs, which are referenced by key)."""

    id: str
    kind: str
    backend: str
    status: JobStatus
    owner_id: int
    owner: str
    instance: str
    name: str | None
    tags: tuple[str, ...]
    share_level: str
    experiment_id: str | None
    program_id: str | None
    created_at: datetime
    updated_at: datetime
    time_per_step: dict[str, datetime]
    num_circuits: int
    shots: int | None
    memory: bool
    header: dict[str, Any]
    options: dict[str, Any]
    snapshot_id: str | None
    payload_key: str
    result_key: str | None
    error_code: str | None
    error_message: str | None
    run_mode: str | None
    live_data_enabled: bool | None
    client_info: dict[str, str]
    cancel_requested: bool
    lease_owner: str | None
    lease_expires_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    priority: int
    attempts: int
    """How many times the job was started (claimed): 1 on its first run, one more for each
    retry after its worker or server died; a stop that hands it back does not count."""
    usage_seconds: float | None = None
    """Device time the job consumed (``docs/scheduling.md``), recorded at its end."""


NEW_JOB_FIELDS = frozenset(f.name for f in dataclasses.fields(NewJob))
"""Names of the fields a submission sets."""


def new_job(request: Mapping[str, Any], **fields: Any) -> NewJob:
    """A ``NewJob`` from ``fields`` and, by name, every value of ``request`` that is a
    ``NewJob`` field (a request body's ``model_dump()``); ``fields`` win.

    Args:
        request: values to take by name (names that are not job fields are ignored).
        fields: values computed by the caller (id, owner, instance, validated defaults).

    Returns:
        The job to insert.
    """
    taken = {name: value for name, value in request.items() if name in NEW_JOB_FIELDS}
    return NewJob(**{**taken, **fields})
