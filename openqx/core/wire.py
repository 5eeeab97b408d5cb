"""Wire schemas: the JSON bodies that the client and the server exchange (HTTP API v1).

Endpoints (all JSON, all under ``/v1``, ``Authorization: Bearer <token>`` unless noted). The
optional header ``X-OpenQX-Instance: hub/group/project`` (``core.access.INSTANCE_HEADER``)
picks the caller's instance where marked *inst* (default: the user's first instance). Marked
*server admin*: server administrators only; *unit admin*: administrators over the unit
concerned (``docs/tenancy.md``); reads of a job need read access (else 404), changes need its
owner or an administrator over it.

| method & path | body → answer |
|---|---|
| GET  /version (no auth)              | → ``VersionInfo`` |
| GET  /account                        | → ``AccountInfo`` |
| GET  /backends (*inst*)              | → ``list[BackendSummary]`` (the devices enabled for the instance) |
| GET  /backends/{name}                | → ``BackendSummary`` |
| GET  /backends/{name}/configuration  | → configuration dict (IBM ``BackendConfiguration`` schema) |
| GET  /backends/{name}/properties     | ``?datetime=ISO`` → properties dict or ``null`` |
| POST /backends/{name}/properties (*server admin*) | ``BackendProperties`` JSON → ``CalibrationSnapshotInfo`` (201) |
| GET  /backends/{name}/snapshots      | ``?start=ISO&end=ISO&limit=N`` → ``list[CalibrationSnapshotInfo]`` |
| GET  /backends/{name}/defaults       | → pulse defaults dict (IBM ``PulseDefaults`` schema) or ``null`` |
| GET  /backends/{name}/status         | → ``BackendStatusInfo`` |
| GET  /backends/{name}/job_limit (*inst*) | → ``JobLimitInfo`` |
| POST /jobs (*inst*)                  | ``JobSubmission`` (circuits as ``qpy``, or ``qasm3`` or ``qasm2`` source, exactly one) → ``JobInfo`` (201) |
| POST /jobs/search (*inst*)           | ``?scope=own|shared|all``, ``JobQuery`` → ``JobPage`` |
| GET  /jobs (*inst*)                  | ``JobQuery``'s fields but ``db_filter``/``ids_only`` as query parameters (``status``, ``tags`` repeated), ``?scope=`` → ``JobPage`` |
| GET  /jobs/{id}                      | → ``JobInfo`` |
| PATCH /jobs/{id}                     | ``JobUpdate`` → ``JobInfo`` |
| GET  /jobs/{id}/status               | → ``JobStatusInfo`` |
| GET  /jobs/{id}/events               | server-sent events, ``event: status``, data ``JobStatusInfo``; once final, an ``event: job`` (``JobFinal``: the record and a small result) just before the last ``status`` |
| GET  /jobs/{id}/result               | ``?partial=true`` → qiskit ``Result.to_dict()`` JSON |
| GET  /jobs/{id}/circuits             | → ``CircuitsPayload`` |
| GET  /jobs/{id}/properties           | → properties dict the job ran with, or ``null`` |
| GET  /jobs/{id}/queue_info           | → ``QueueInfo`` |
| POST /jobs/{id}/cancel               | → ``CancelAnswer`` |
| POST /runtime/jobs (*inst*)          | ``RuntimeJobSubmission`` → ``JobInfo`` (201, kind ``runtime``) |
| GET  /job_sets/{set_id}              | → ``list[JobInfo]`` (every job tagged with the set) |
| GET  /admin/units (*unit admin*)     | ``?under=unit`` → ``list[UnitInfo]`` (the units the caller administers) |
| POST /admin/units (*unit admin* of the parent; hubs: *server admin*) | ``UnitCreate`` → ``UnitInfo`` (201) |
| POST /admin/units/rename (*unit admin* of the parent) | ``UnitRename`` → ``UnitInfo`` |
| PUT  /admin/units/share (*unit admin* of the parent) | ``UnitShare`` → ``UnitInfo`` |
| POST /admin/users (*unit admin* of its instances; server admins, with ``is_admin``/``token``/no instance) | ``UserCreate`` → ``UserCreated`` (201, the token shown once) |
| GET  /admin/users (*unit admin*)     | → ``list[AccountInfo]`` (every user for server admins, else those of the caller's units) |
| GET  /admin/users/{name} (*unit admin*) | → ``UserDetail`` |
| POST /admin/users/{name}/token (*unit admin*, or the user) | → ``TokenInfo`` (a new token, shown once; the old one is refused at once) |
| DELETE /admin/users/{name}/token (*unit admin*) | → 204 (the token is refused at once) |
| PUT  /admin/users/{name}/disabled (*unit admin*) | ``UserDisable`` → ``UserDetail`` |
| PUT  /admin/users/{name}/server_admin (*server admin*, not oneself) | ``ServerAdminUpdate`` → ``UserDetail`` |
| PUT  /admin/memberships (member: *unit admin*; admin roles: admin of the parent; never one's own) | ``MembershipUpdate`` → ``MembershipInfo`` |
| DELETE /admin/memberships (as ``PUT``) | ``?name=user&scope=unit`` → 204 |
| GET  /admin/devices (*unit admin*)   | ``?instance=project`` → ``list[DeviceGrantInfo]`` |
| PUT  /admin/devices (*unit admin* of the project's group or above) | ``DeviceGrantUpdate`` → ``DeviceGrantInfo`` |
| DELETE /admin/devices (as ``PUT``) | ``?instance=project&backend=name`` → 204 |
| PUT  /admin/backends/{name}/job_limit (*server admin*) | ``JobLimitUpdate`` → ``JobLimitInfo`` |
| DELETE /admin/backends/{name}/job_limit (*server admin*) | → ``JobLimitInfo`` (back to the configured or device default) |
| GET  /admin/audit (*unit admin*)     | ``?limit=N`` → ``list[AuditInfo]``, newest first |
| GET  /backends/{name}/reservations   | ``?start=ISO&end=ISO`` → ``list[ReservationInfo]`` overlapping the window (owner-only fields for the owner) |
| GET  /reservations                   | → ``list[ReservationInfo]`` of the caller's projects that have not ended |
| POST /admin/reservations (*server admin* or admin of the instance's hub) | ``ReservationCreate`` → ``ReservationInfo`` (201) |
| DELETE /admin/reservations/{id} (as ``POST``) | → 204 |
| POST /admin/maintenance (*server admin*) | ``MaintenanceCreate`` → ``MaintenanceInfo`` (201) |
| GET  /admin/maintenance (*server admin*) | → ``list[MaintenanceInfo]`` |
| DELETE /admin/maintenance/{backend} (*server admin*) | → ``MaintenanceInfo`` (the window ended now) |
| DELETE /admin/maintenance/windows/{id} (*server admin*) | → ``MaintenanceInfo`` (a window that had not started, removed; 409 once started) |

The bodies of ``/admin`` routes but ``/admin/users`` and ``/admin/backends/.../job_limit`` are
in ``core.tenancy_wire``; those of reservations and maintenance in ``core.schedule_wire``. Outside ``/v1`` and without a token: ``GET /openapi.json``,
``/docs`` and ``/redoc`` (assets from ``/docs-assets``). The dashboard (``openqx.web``, HTML
with a session cookie, not part of this API) serves ``/``, ``/signin``, ``/signout``,
``/jobs``, ``/jobs/table``, ``/jobs/stream`` (the jobs page's event stream), ``/jobs/{id}``, ``/jobs/{id}/detail``, ``/jobs/{id}/events`` (the
API's event stream for the session's user), ``/jobs/{id}/rename|tags|cancel`` (forms),
``/devices``, ``/devices/{name}``, ``/instances``, ``/instances/{unit}`` and ``/static``.

Errors always come as ``ErrorBody``: ``{"error": {"code": ..., "message": ..., "details": {}}}``
with ``code`` from ``openqx.core.errors``.

Request bodies are bounded by their schema (``core.bounds``): lengths of names, tags and ids,
integer ranges the database holds, text without NUL or unpaired surrogates, dates that convert
to UTC, and free-form JSON (``header``, ``options``, ``params``) no deeper than
``MAX_JSON_DEPTH`` with finite numbers only. Answers are not constrained.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
)

from openqx.core import bounds
from openqx.core.instances import DEFAULT_INSTANCE, split_instance
from openqx.core.status import JobStatus

__all__ = [
    "API_PREFIX",
    "JOB_EVENT",
    "MAX_BATCH_JOBS",
    "MAX_WAIT_SECONDS",
    "SHARE_LEVELS",
    "SUBMITTED_EVENT",
    "AccountInfo",
    "BackendStatusInfo",
    "BackendSummary",
    "CalibrationSnapshotInfo",
    "CancelAnswer",
    "CircuitsPayload",
    "ErrorBody",
    "ErrorInfo",
    "JobBatchInfo",
    "JobBatchSubmission",
    "JobFinal",
    "JobFinals",
    "JobInfo",
    "JobLimitInfo",
    "JobPage",
    "JobQuery",
    "JobStatusInfo",
    "JobSubmission",
    "JobUpdate",
    "JobWait",
    "QueueInfo",
    "RuntimeJobSubmission",
    "UserCreate",
    "UserCreated",
    "UtcDatetime",
    "JobLimitUpdate",
    "VersionInfo",
    "b64decode",
    "b64encode",
]

API_PREFIX = "/v1"
SHARE_LEVELS = ("global", "hub", "group", "project", "none")
ShareLevel = Literal["global", "hub", "group", "project", "none"]
JobKind = Literal["circuits", "runtime"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _field(info: ValidationInfo) -> str:
    return info.field_name or "value"


def _clean_text(value: str, info: ValidationInfo) -> str:
    return bounds.check_text(value, _field(info))


def _clean_json(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    bounds.check_json(value, _field(info))
    return value


def _instance(value: str) -> str:
    split_instance(value)  # ValueError naming the instance
    return value


def _utc_convertible(value: datetime, info: ValidationInfo) -> datetime:
    return bounds.check_datetime(value, _field(info))


# Strings of bounded length without NUL or unpaired surrogates.
_Clean = AfterValidator(_clean_text)
JobName = Annotated[StrictStr, Field(max_length=bounds.MAX_JOB_NAME_LENGTH), _Clean]
Tag = Annotated[StrictStr, Field(max_length=bounds.MAX_TAG_LENGTH), _Clean]
BackendName = Annotated[StrictStr, Field(max_length=bounds.MAX_BACKEND_NAME_LENGTH), _Clean]
Identifier = Annotated[StrictStr, Field(max_length=bounds.MAX_ID_LENGTH), _Clean]
ShortText = Annotated[StrictStr, Field(max_length=bounds.MAX_TEXT_LENGTH), _Clean]
Pattern = Annotated[StrictStr, Field(max_length=bounds.MAX_REGEXP_LENGTH), _Clean]
Tags = Annotated[list[Tag], Field(max_length=bounds.MAX_TAGS)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_clean_json)]
"""Free-form JSON: no deeper than ``MAX_JSON_DEPTH``, finite numbers, clean text."""
Token = Annotated[
    StrictStr,
    Field(min_length=bounds.MIN_TOKEN_LENGTH, max_length=bounds.MAX_ID_LENGTH, pattern=r"^[!-~]+$"),
]
"""An API token: printable ASCII without spaces (it travels in an HTTP header)."""
Instance = Annotated[Identifier, AfterValidator(_instance)]
"""``hub/group/project``, each part checked by ``core.instances``."""
ClientInfo = Annotated[dict[Identifier, ShortText], Field(max_length=64)]
UtcDatetime = Annotated[datetime, AfterValidator(_utc_convertible)]
"""A date that converts to UTC without overflow (naive is UTC): for bodies and query parameters
(``name: UtcDatetime | None = None`` in a route answers 400 naming the parameter)."""


def b64encode(data: bytes) -> str:
    """Encode bytes for a JSON field."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    """Decode a base64 JSON field (raises ``ValueError`` on bad input)."""
    return base64.b64decode(text.encode("ascii"), validate=True)


class ErrorInfo(_Model):
    """One error: a stable code and a human message."""

    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(_Model):
    """The body of every 4xx/5xx answer."""

    error: ErrorInfo


class VersionInfo(_Model):
    """What ``GET /version`` answers."""

    name: str = "openqx"
    version: str
    api_version: str = "1"


class AccountInfo(_Model):
    """The calling user."""

    user: str
    is_admin: bool
    instances: list[str]
    """Instances (``hub/group/project``) the user belongs to; the first is the default."""


class BackendSummary(_Model):
    """A backend in the catalog, enough to filter without downloading its configuration."""

    name: str
    simulator: bool
    num_qubits: int
    operational: bool
    status_msg: str
    pending_jobs: int
    backend_version: str
    description: str = ""
    basis_gates: list[str] = Field(default_factory=list)
    max_shots: int
    max_experiments: int
    simulation_method: str | None = None
    processor_type: dict[str, Any] | None = None
    snapshot_id: str | None = None
    """Id of the calibration snapshot new jobs run with (``None`` for ideal simulators)."""


class BackendStatusInfo(_Model):
    """Fields of qiskit's ``BackendStatus``."""

    backend_name: str
    backend_version: str
    operational: bool
    pending_jobs: int
    status_msg: str


class JobLimitInfo(_Model):
    """The caller's job limit on one backend; ``maximum_jobs`` ``None`` means no limit."""

    maximum_jobs: int | None
    active_jobs: int


MAX_BATCH_JOBS = 1000
"""Most jobs in one ``POST /jobs/batch``."""
MAX_WAIT_SECONDS = 60.0
"""Longest wait of one ``POST /jobs/wait``."""


class JobSubmission(_Model):
    """``POST /jobs``: circuits (base64 QPY, or OpenQASM 3 or 2 source) plus every run option.

    ``options`` holds the run configuration (``init_qubits``, ``rep_delay``, ``meas_level``,
    ``meas_return``, ``memory_slots``, ``memory_slot_size``, ``use_measure_esp``,
    ``qubit_lo_freq``, ``meas_lo_freq``, ``seed_simulator``, ``parameter_binds`` as a list of
    ``{parameter name: value}``, and any extra ``**run_config`` key).
    """

    backend: BackendName
    qpy: StrictStr | None = None
    """Base64 QPY of the circuits; or give ``qasm3`` or ``qasm2`` instead (exactly one)."""
    qasm3: list[StrictStr] | None = Field(default=None, max_length=bounds.MAX_LIST_ITEMS)
    """OpenQASM 3 programs, one per circuit."""
    qasm2: list[StrictStr] | None = Field(default=None, max_length=bounds.MAX_LIST_ITEMS)
    """OpenQASM 2 programs, one per circuit."""
    shots: StrictInt | None = None
    memory: StrictBool = False
    name: JobName | None = None
    tags: Tags = Field(default_factory=list)
    share_level: ShareLevel | None = None
    experiment_id: Identifier | None = None
    header: JsonObject = Field(default_factory=dict)
    options: JsonObject = Field(default_factory=dict)
    live_data_enabled: StrictBool | None = None
    client_info: ClientInfo = Field(default_factory=dict)


class RuntimeJobSubmission(_Model):
    """``POST /runtime/jobs``: a program (``circuit-runner``) with its inputs."""

    program_id: Identifier
    backend: BackendName
    params: JsonObject
    """Program inputs; ``circuits`` is base64 QPY."""
    name: JobName | None = None
    tags: Tags = Field(default_factory=list)
    client_info: ClientInfo = Field(default_factory=dict)


class QueueInfo(_Model):
    """Where a queued job stands (estimated times ``None``: unknown, e.g. held by a
    maintenance window without an end)."""

    job_id: str
    position: int | None = None
    status: str | None = None
    estimated_start_time: datetime | None = None
    estimated_complete_time: datetime | None = None
    hub_priority: float | None = None
    group_priority: float | None = None
    project_priority: float | None = None


class JobStatusInfo(_Model):
    """A cheap status answer (``GET /jobs/{id}/status`` and each SSE event)."""

    id: str
    status: JobStatus
    queue_position: int | None = None
    error: ErrorInfo | None = None


class JobInfo(_Model):
    """A job record as the API shows it (no circuits or results: those load lazily)."""

    id: str
    kind: JobKind = "circuits"
    backend: str
    status: JobStatus
    owner: str
    instance: str
    name: str | None = None
    tags: list[str] = Field(default_factory=list)
    share_level: ShareLevel = "none"
    experiment_id: str | None = None
    program_id: str | None = None
    created_at: datetime
    updated_at: datetime | None = None
    time_per_step: dict[str, datetime] = Field(default_factory=dict)
    num_circuits: int = 0
    shots: int | None = None
    memory: bool = False
    header: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    snapshot_id: str | None = None
    run_mode: str | None = None
    queue_position: int | None = None
    error: ErrorInfo | None = None
    live_data_enabled: bool | None = None
    client_info: dict[str, str] = Field(default_factory=dict)
    attempts: int = 0
    """How many times the job was started (more than 1 after a worker or server died)."""
    usage_seconds: float | None = None
    """Device time the job consumed, recorded at its end (``docs/scheduling.md``)."""


JOB_EVENT = "job"
"""The SSE event name of ``JobFinal`` on ``GET /jobs/{id}/events``."""

SUBMITTED_EVENT = "submitted"
"""The first SSE event of ``POST /jobs`` asked for ``text/event-stream``: the ``JobInfo`` of
the job just queued; its status stream (``GET /jobs/{id}/events``'s events) follows."""


class JobFinal(_Model):
    """The ``job`` event of a job's status stream, sent once, just before its final
    ``status`` event: the whole record (``GET /jobs/{id}``), and the result JSON of a DONE job
    when it is small (``GET /jobs/{id}/result``'s answer), so a waiting client needs no
    further request. ``result`` is ``null`` for other jobs and large results: fetch it."""

    job: JobInfo
    result: dict[str, Any] | None = None


class JobBatchSubmission(_Model):
    """``POST /jobs/batch``: several jobs submitted at once (``JobManager`` sends its sets
    this way). Each entry becomes its own job; they are validated first and stored together,
    or, when one is not valid or the job limit would be passed, none is."""

    jobs: Annotated[list[JobSubmission], Field(min_length=1, max_length=MAX_BATCH_JOBS)]


class JobBatchInfo(_Model):
    """The jobs of a ``POST /jobs/batch``, in the order submitted."""

    jobs: list[JobInfo]


class JobWait(_Model):
    """``POST /jobs/wait``: wait until at least one of ``ids`` is final, at most ``timeout``
    seconds, and return every one that is."""

    ids: Annotated[list[Identifier], Field(min_length=1, max_length=bounds.MAX_LIST_ITEMS)]
    timeout: Annotated[StrictFloat, Field(ge=0, le=MAX_WAIT_SECONDS)] = 10.0
    """Seconds, a JSON number (``"5"`` or ``true`` is a 400)."""


class JobFinals(_Model):
    """``POST /jobs/wait``'s answer: the final jobs among those asked for, each as its status
    stream's ``job`` event (the record and a small result); empty when none was final in
    time."""

    jobs: list[JobFinal]


class JobQuery(_Model):
    """``POST /jobs/search``: every filter of ``jobs()``; pages follow ``cursor`` (keyset)."""

    limit: Annotated[StrictInt, Field(le=bounds.INT64_MAX)] | None = 10
    """Jobs per answer; ``None`` or 0 means the server's page maximum (1000)."""
    skip: Annotated[StrictInt, Field(le=bounds.INT64_MAX)] = 0
    cursor: ShortText | None = None
    """Opaque cursor from the previous ``JobPage.next_cursor``."""
    backend: BackendName | None = None
    kind: JobKind | None = None
    status: Annotated[list[JobStatus], Field(max_length=bounds.MAX_LIST_ITEMS)] | None = None
    name: Pattern | None = None
    """Regular expression (RE2 syntax) matched anywhere in the job name."""
    start_datetime: UtcDatetime | None = None
    end_datetime: UtcDatetime | None = None
    tags: Tags | None = None
    tags_operator: Literal["OR", "AND"] = "OR"
    experiment_id: Identifier | None = None
    program_id: Identifier | None = None
    """Runtime jobs of this program only (``circuit-runner``)."""
    descending: StrictBool = True
    db_filter: dict[str, Any] | None = None
    """LoopBack ``where`` subset, translated to SQL through a whitelist (which checks its
    depth, size and values: ``store.db_filter``)."""
    ids_only: StrictBool = False


class JobPage(_Model):
    """One page of jobs."""

    jobs: list[JobInfo]
    next_cursor: str | None = None


class JobUpdate(_Model):
    """``PATCH /jobs/{id}``: a new name and/or the complete new tag list."""

    name: JobName | None = None
    tags: Tags | None = None


class CircuitsPayload(_Model):
    """The circuits of a job as base64 QPY."""

    qpy: str


class CancelAnswer(_Model):
    """The answer to a cancel request."""

    cancelled: bool
    status: JobStatus
    message: str = ""


class UserCreate(_Model):
    """``POST /admin/users`` (admin only)."""

    name: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    instances: Annotated[list[Instance], Field(max_length=bounds.MAX_TAGS)] = Field(
        default_factory=lambda: [DEFAULT_INSTANCE]
    )
    is_admin: StrictBool = False
    token: Token | None = None
    """A token to use instead of a random one."""


class UserCreated(_Model):
    """A new user and its token (shown once)."""

    name: str
    token: str
    instances: list[str]
    is_admin: bool


class JobLimitUpdate(_Model):
    """``PUT /admin/backends/{name}/job_limit``: ``None`` removes the limit."""

    maximum_jobs: StrictInt | None = Field(default=None, ge=0, le=bounds.INT32_MAX)


class CalibrationSnapshotInfo(_Model):
    """One snapshot of a device's calibration history (``GET /backends/{name}/snapshots``,
    ``POST /backends/{name}/properties``)."""

    snapshot_id: str
    last_update_date: datetime
    imported: bool = False
    """True for a snapshot an administrator imported."""
