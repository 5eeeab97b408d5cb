"""``OpenQXBackend``: a qiskit ``BackendV2`` whose jobs run on an openqx server."""

from __future__ import annotations

import json
import warnings
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.providers import BackendV2, Options
from qiskit.transpiler import Target

from openqx.client import exceptions as exc
from openqx.client import status_feed
from openqx.client.job import OpenQXJob
from openqx.client.job_limit import BackendJobLimit
from openqx.client.reservation import BackendReservation, reservations_from_wire
from openqx.connection.session import client_info, path_segment
from openqx.core import bounds, circuit_payload, json_values, run_options, targets, times, wire
from openqx.core.parameter_binds import check_parameter_binds
from openqx.core.pulse_defaults import PulseDefaults
from openqx.core.status import ACTIVE_STATUSES

if TYPE_CHECKING:
    from qiskit_ibm_runtime.models import BackendConfiguration, BackendProperties, BackendStatus

    from openqx.client.http import ApiClient

__all__ = ["DEFAULT_SHOTS", "UNSET", "OpenQXBackend", "OpenQXSimulator"]

DEFAULT_SHOTS = run_options.DEFAULT_SHOTS
"""Default shots, lowered to the backend's ``max_shots`` when that is smaller."""


class _Unset(Enum):
    """Sentinel type for "not passed" (``None`` stays an explicit value)."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset.UNSET
"""A run keyword not passed: the backend option applies."""


class OpenQXBackend(BackendV2):  # type: ignore[misc]
    """A backend of an openqx server.

    Do not build it directly: use ``provider.get_backend()`` or ``provider.backends()``.

    Args:
        provider: the account provider.
        api_client: the API client.
        summary: the backend's catalog entry.
    """

    def __init__(self, provider: Any, api_client: ApiClient, summary: wire.BackendSummary) -> None:
        super().__init__(
            provider=provider,
            name=summary.name,
            description=summary.description,
            backend_version=summary.backend_version,
        )
        self._api = api_client
        self._summary = summary
        self._configuration_dict: dict[str, Any] | None = None
        self._configuration: BackendConfiguration | None = None
        self._properties: BackendProperties | None = None
        self._properties_dict: dict[str, Any] | None = None
        self._defaults: PulseDefaults | None = None
        self._target: Target | None = None
        self._options.update_options(shots=min(DEFAULT_SHOTS, summary.max_shots))
        if summary.simulator:
            self._options.update_options(seed_simulator=None, noise_model=None)

    @classmethod
    def _default_options(cls) -> Options:
        return Options(
            shots=DEFAULT_SHOTS,
            memory=False,
            qubit_lo_freq=None,
            meas_lo_freq=None,
            schedule_los=None,
            meas_level=2,
            meas_return="avg",
            memory_slots=None,
            memory_slot_size=100,
            rep_time=None,
            rep_delay=None,
            init_qubits=True,
            use_measure_esp=None,
            live_data_enabled=None,
        )

    def __repr__(self) -> str:
        instance = getattr(self.provider, "instance", None)
        return f"<{type(self).__name__}('{self.name}') from OpenQX(instance={instance!r})>"

    # --- description ------------------------------------------------------------------

    @property
    def summary(self) -> wire.BackendSummary:
        """The catalog entry the backend was built from."""
        return self._summary

    @property
    def simulator(self) -> bool:
        """Whether this is a simulator."""
        return self._summary.simulator

    @property
    def max_circuits(self) -> int:
        """The most circuits one job may hold."""
        return self._summary.max_experiments

    @property
    def target(self) -> Target:
        """The qiskit ``Target`` (built on first use from configuration and properties)."""
        if self._target is None:
            properties = None if self.simulator else self._properties_raw()
            self._target = targets.build_target(self.configuration_dict(), properties)
        return self._target

    def configuration_dict(self) -> dict[str, Any]:
        """Return the configuration as a dict (cached)."""
        if self._configuration_dict is None:
            self._configuration_dict = self._api.backend_configuration(self.name)
        return self._configuration_dict

    def configuration(self) -> BackendConfiguration:
        """Return the backend configuration (cached)."""
        if self._configuration is None:
            from qiskit_ibm_runtime.models import BackendConfiguration

            try:
                self._configuration = BackendConfiguration.from_dict(self.configuration_dict())
            except (KeyError, TypeError, ValueError) as error:
                raise exc.OpenQXBackendApiProtocolError(
                    f"Unexpected configuration received for backend {self.name}: {error}"
                ) from error
        return self._configuration

    def _properties_raw(self) -> dict[str, Any] | None:
        if self._properties_dict is None:
            self._properties_dict = self._api.backend_properties(self.name)
        return self._properties_dict

    def properties(
        self, refresh: bool = False, datetime: datetime | None = None
    ) -> BackendProperties | None:
        """Return the calibration properties, or ``None`` for simulators.

        Args:
            refresh: ask the server again instead of using the cached value.
            datetime: return the newest properties older than this time (naive values are
                local time); such answers are not cached.

        Raises:
            TypeError: ``refresh`` is not a bool or ``datetime`` not a datetime.
        """
        from datetime import datetime as _datetime

        if not isinstance(refresh, bool):
            raise TypeError(f"The 'refresh' argument needs to be a boolean, not {refresh!r}.")
        if datetime is not None and not isinstance(datetime, _datetime):
            raise TypeError(f"'{datetime}' is not of type 'datetime'.")
        if self.simulator:
            return None
        from qiskit_ibm_runtime.models import BackendProperties

        if datetime is not None:
            data = self._api.backend_properties(self.name, times.utc_from_user(datetime))
            return BackendProperties.from_dict(data) if data else None
        if refresh or not self._properties_dict:
            data = self._api.backend_properties(self.name)
            if data:
                self._properties_dict = data
                self._properties = None
        if self._properties is None and self._properties_dict:
            # Also built from the dict ``target`` fetched, without asking again.
            self._properties = BackendProperties.from_dict(self._properties_dict)
        return self._properties

    def defaults(self, refresh: bool = False) -> PulseDefaults | None:
        """Return the pulse defaults (qubit and measurement frequency estimates from the
        calibration in force), or ``None`` for simulators and devices without them.

        Args:
            refresh: ask the server again instead of using the cached value.

        Raises:
            TypeError: ``refresh`` is not a bool.
        """
        if not isinstance(refresh, bool):
            raise TypeError(f"The 'refresh' argument needs to be a boolean, not {refresh!r}.")
        if self.simulator:
            return None
        if refresh or self._defaults is None:
            data = self._api.backend_defaults(self.name)
            self._defaults = PulseDefaults.from_dict(data) if data else None
        return self._defaults

    def status(self) -> BackendStatus:
        """Return the backend status (always asks the server)."""
        from qiskit_ibm_runtime.models import BackendStatus

        info = self._api.backend_status(self.name)
        return BackendStatus(
            backend_name=info.backend_name,
            backend_version=info.backend_version,
            operational=info.operational,
            pending_jobs=info.pending_jobs,
            status_msg=info.status_msg,
        )

    def job_limit(self) -> BackendJobLimit:
        """Return the caller's job limit on this backend."""
        return BackendJobLimit.from_wire(self._api.backend_job_limit(self.name))

    def remaining_jobs_count(self) -> int | None:
        """Return how many more jobs may be submitted now, or ``None`` for no limit."""
        return self.job_limit().remaining_jobs

    def reservations(
        self, start_datetime: datetime | None = None, end_datetime: datetime | None = None
    ) -> list[BackendReservation]:
        """Return the reservations of this backend that overlap the window.

        Args:
            start_datetime: the window's start (naive: local time; ``None``: open).
            end_datetime: the window's end (naive: local time; ``None``: open).

        Returns:
            ``BackendReservation``s; ``mode``, ``reservation_id`` and ``creation_datetime``
            only on those of the caller's projects.
        """
        params = {
            name: times.utc_from_user(value).isoformat()
            for name, value in (("start", start_datetime), ("end", end_datetime))
            if value is not None
        }
        data = self._api.admin(
            "GET", f"/backends/{path_segment(self.name)}/reservations", params=params
        )
        return reservations_from_wire(data)

    # --- running ----------------------------------------------------------------------

    def run(  # type: ignore[override]
        self,
        circuits: QuantumCircuit | list[QuantumCircuit],
        job_name: str | None = None,
        job_share_level: str | None = None,
        job_tags: list[str] | None = None,
        experiment_id: str | None = None,
        header: dict[str, Any] | None = None,
        shots: Any = UNSET,
        memory: Any = UNSET,
        qubit_lo_freq: Any = UNSET,
        meas_lo_freq: Any = UNSET,
        schedule_los: Any = UNSET,
        meas_level: Any = UNSET,
        meas_return: Any = UNSET,
        memory_slots: Any = UNSET,
        memory_slot_size: Any = UNSET,
        rep_time: Any = UNSET,
        rep_delay: Any = UNSET,
        init_qubits: Any = UNSET,
        parameter_binds: list[dict[Parameter | str, float]] | None = None,
        use_measure_esp: Any = UNSET,
        live_data_enabled: Any = UNSET,
        **run_config: Any,
    ) -> OpenQXJob:
        """Submit circuits to the backend.

        Circuits are not transpiled: transpile them for ``backend.target`` first. Run
        keywords not passed fall back to ``backend.options``; a keyword passed here wins for
        this call only (``None`` passed explicitly means "no value", i.e. the server's
        default).

        Args:
            circuits: one circuit or a list of circuits.
            job_name: a name for the job (filterable with ``jobs(job_name=...)``).
            job_share_level: ``global``, ``hub``, ``group``, ``project`` or ``none``.
            job_tags: tags for the job (filterable).
            experiment_id: the experiment the job belongs to.
            header: user data copied into the result headers.
            shots: repetitions per circuit (default: 4000 or ``max_shots`` if smaller).
            memory: return per-shot bitstrings.
            qubit_lo_freq: qubit LO frequencies in Hz.
            meas_lo_freq: measurement LO frequencies in Hz.
            schedule_los: not supported (pulse only).
            meas_level: measurement level (2 = classified).
            meas_return: ``"avg"`` or ``"single"`` (levels 0 and 1).
            memory_slots: classical memory slots.
            memory_slot_size: memory slot size (level 0).
            rep_time: time per program execution, in seconds (one of ``rep_times``).
            rep_delay: delay between programs, in seconds (within ``rep_delay_range``).
            init_qubits: reset qubits to the ground state before each shot.
            parameter_binds: a list of ``{Parameter: value}``; each circuit runs once per bind.
            use_measure_esp: use ESP readout for terminal measurements.
            live_data_enabled: ask for live data.
            **run_config: more run options, forwarded with a warning when unknown.
                ``qobj_header`` (the seed's name) stands for ``header`` when that is not
                given; ``noise_model`` (a qiskit-aer ``NoiseModel`` or its dict) is accepted
                by simulators only.

        Returns:
            The submitted job.

        Raises:
            OpenQXBackendValueError: an argument is not valid for this backend.
            OpenQXBackendJobLimitError: the job limit on this backend is reached.
            OpenQXBackendApiError: the submission failed.
        """
        explicit = {
            "shots": shots,
            "memory": memory,
            "qubit_lo_freq": qubit_lo_freq,
            "meas_lo_freq": meas_lo_freq,
            "schedule_los": schedule_los,
            "meas_level": meas_level,
            "meas_return": meas_return,
            "memory_slots": memory_slots,
            "memory_slot_size": memory_slot_size,
            "rep_time": rep_time,
            "rep_delay": rep_delay,
            "init_qubits": init_qubits,
            "use_measure_esp": use_measure_esp,
            "live_data_enabled": live_data_enabled,
        }
        run_config = {
            **{key: value for key, value in explicit.items() if value is not UNSET},
            **run_config,
        }
        submission = self._submission(
            circuits,
            job_name=job_name,
            job_share_level=job_share_level,
            job_tags=job_tags,
            experiment_id=experiment_id,
            header=header,
            parameter_binds=parameter_binds,
            run_config=run_config,
        )
        info, opened = self._api.submit_watched(
            submission, read_timeout=status_feed.SSE_READ_TIMEOUT
        )
        job = OpenQXJob(self, self._api, info)
        if opened is not None:  # its status stream, already open: waiting costs no request
            job.follow(opened)
        return job

    def _submission(
        self,
        circuits: QuantumCircuit | list[QuantumCircuit],
        *,
        job_name: str | None = None,
        job_share_level: str | None = None,
        job_tags: list[str] | None = None,
        experiment_id: str | None = None,
        header: dict[str, Any] | None = None,
        parameter_binds: list[dict[Parameter | str, float]] | None = None,
        run_config: dict[str, Any],
    ) -> wire.JobSubmission:
        """The checked ``POST /jobs`` body of ``run``'s arguments (``run_config``: every run
        option passed, by name), sent by ``run`` or, several at once, by ``JobManager``."""
        # numpy scalars and arrays (shots=np.int64(100), a header of numpy values) as plain
        # JSON values, as Aer and the seed took them
        run_config = {key: json_values.plain(value) for key, value in run_config.items()}
        circuit_list = self._circuit_list(circuits)
        if "qobj_header" in run_config:
            qobj_header = run_config.pop("qobj_header")
            if header is not None and qobj_header is not None:
                raise exc.OpenQXBackendValueError(
                    "Give header or qobj_header (its old name), not both."
                )
            header = qobj_header if header is None else header
        try:
            run_options.validate_job_name(job_name)
            run_options.validate_job_tags(job_tags)
            run_options.validate_share_level(job_share_level)
        except ValueError as error:
            raise exc.OpenQXBackendValueError(str(error)) from error
        if header is not None and not isinstance(header, dict):
            raise exc.OpenQXBackendValueError("header needs to be a dict.")
        header = json_values.plain(header)
        if experiment_id is not None and not isinstance(experiment_id, str):
            raise exc.OpenQXBackendValueError("experiment_id needs to be a string.")
        config: dict[str, Any] = dict(self.options.items())
        config.update(run_config)
        options = self._validated_options(config)
        try:
            run_options.validate_memory_slots(
                options.get("memory_slots"), [(c.name, c.num_clbits) for c in circuit_list]
            )
        except ValueError as error:
            raise exc.OpenQXBackendValueError(str(error)) from error
        if parameter_binds:
            options["parameter_binds"] = _serialize_binds(parameter_binds, circuit_list)
        _check_sendable(options, "Run option")
        _check_sendable(dict(header or {}), "Header field")
        try:
            qpy = circuit_payload.encode_circuits(circuit_list)
        except TypeError as error:  # e.g. metadata JSON cannot carry (circuit_payload)
            raise exc.OpenQXBackendValueError(
                f"The circuits cannot be sent as QPY: {error}."
            ) from None
        try:
            return wire.JobSubmission(
                backend=self.name,
                qpy=qpy,
                shots=options.pop("shots", None),
                memory=bool(options.pop("memory", False)),
                name=job_name,
                tags=list(job_tags or []),
                share_level=job_share_level,  # type: ignore[arg-type]
                experiment_id=experiment_id,
                header=dict(header or {}),
                live_data_enabled=options.pop("live_data_enabled", None),
                options=options,
                client_info=client_info(),
            )
        except ValidationError as error:  # what the checks above leave to the schema
            raise exc.OpenQXBackendValueError(_problems(error)) from None

    @staticmethod
    def _circuit_list(circuits: Any) -> list[QuantumCircuit]:
        items = circuits if isinstance(circuits, list | tuple) else [circuits]
        if not items:
            raise exc.OpenQXBackendValueError("No circuits to run.")
        for item in items:
            if not isinstance(item, QuantumCircuit):
                raise exc.OpenQXBackendValueError(
                    f"Only QuantumCircuit objects can be run, not {type(item).__name__}: "
                    "pulse schedules and Qobj are not supported."
                )
        return list(items)

    def _validated_options(self, config: dict[str, Any]) -> dict[str, Any]:
        """Check the merged run options; return those to send (``None`` values dropped)."""
        if config.get("schedule_los") is not None:
            raise exc.OpenQXBackendValueError(
                "schedule_los is not supported: pulse schedules are not supported."
            )
        if config.get("noise_model") is not None:
            config = {**config, "noise_model": _noise_model_dict(config["noise_model"])}
        values = {key: value for key, value in config.items() if value is not None}
        conf = self.configuration_dict()
        try:
            notes = run_options.validate_run_options(values, conf)
        except ValueError as error:
            raise exc.OpenQXBackendValueError(str(error)) from error
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=4)
        values["use_measure_esp"] = run_options.use_measure_esp_default(values, conf)
        if "meas_level" in values:
            values["meas_level"] = int(getattr(values["meas_level"], "value", values["meas_level"]))
        if "meas_return" in values:
            values["meas_return"] = str(
                getattr(values["meas_return"], "value", values["meas_return"])
            )
        return values

    # --- jobs -------------------------------------------------------------------------

    def jobs(
        self,
        limit: int | None = 10,
        skip: int = 0,
        status: Any = None,
        job_name: str | None = None,
        start_datetime: datetime | None = None,
        end_datetime: datetime | None = None,
        job_tags: list[str] | None = None,
        job_tags_operator: str | None = "OR",
        experiment_id: str | None = None,
        descending: bool = True,
        db_filter: dict[str, Any] | None = None,
        *,
        scope: str = "own",
    ) -> list[OpenQXJob]:
        """Return jobs submitted to this backend, newest first by default.

        See ``provider.backend.jobs()`` for the arguments; ``scope`` is ``"own"`` (the
        default, as in the seed), ``"shared"`` (others' jobs shared with the caller) or
        ``"all"``.

        Raises:
            OpenQXBackendValueError: a filter value is not valid.
        """
        return self.provider.backend.jobs(  # type: ignore[no-any-return]
            limit=limit,
            skip=skip,
            backend_name=self.name,
            status=status,
            job_name=job_name,
            start_datetime=start_datetime,
            end_datetime=end_datetime,
            job_tags=job_tags,
            job_tags_operator=job_tags_operator,
            experiment_id=experiment_id,
            descending=descending,
            db_filter=db_filter,
            scope=scope,
        )

    def active_jobs(self, limit: int = 10) -> list[OpenQXJob]:
        """Return this backend's unfinished jobs (INITIALIZING, VALIDATING, QUEUED, RUNNING)."""
        statuses = sorted(ACTIVE_STATUSES, key=lambda status: status.name)
        return self.jobs(status=[status.name for status in statuses], limit=limit)

    def retrieve_job(self, job_id: str) -> OpenQXJob:
        """Return one job of this backend.

        Raises:
            OpenQXBackendError: the job does not exist or belongs to another backend.
        """
        job = self.provider.backend.retrieve_job(job_id)
        if job.info.backend != self.name:
            warnings.warn(
                f"Job {job_id} belongs to another backend than the one queried. "
                f"The query was made on backend {self.name}, but the job actually "
                f"belongs to backend {job.info.backend}.",
                UserWarning,
                stacklevel=2,
            )
            raise exc.OpenQXBackendError(
                f"Failed to get job {job_id}: job does not belong to backend {self.name}.",
                job_id=job_id,
            )
        return job  # type: ignore[no-any-return]


OpenQXSimulator = OpenQXBackend
"""Simulators are ``OpenQXBackend`` instances whose ``simulator`` flag is set."""


def _noise_model_dict(noise_model: Any) -> dict[str, Any]:
    """A ``NoiseModel`` (anything with ``to_dict``) or its dict, as JSON-safe data."""
    if isinstance(noise_model, dict):
        data: Any = noise_model
    elif callable(getattr(noise_model, "to_dict", None)):
        data = noise_model.to_dict(serializable=True)
    else:
        raise exc.OpenQXBackendValueError(
            "noise_model needs to be a qiskit_aer NoiseModel or its dict, not "
            f"{type(noise_model).__name__}."
        )
    try:
        decoded: dict[str, Any] = json.loads(json.dumps(data, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise exc.OpenQXBackendValueError(f"noise_model cannot be sent as JSON: {error}") from error
    return decoded


_ALREADY_JSON = frozenset({"noise_model"})
"""Run options made JSON-safe where they are converted (``_noise_model_dict``): a noise
model's dict can be megabytes, not worth walking twice."""


_PLAIN = frozenset({str, int, bool, type(None)})


def _check_sendable(values: dict[str, Any], what: str) -> None:
    """Check that each of ``values`` can travel in the submission's JSON: serializable, and
    with finite numbers only (JSON has no NaN or infinity).

    Raises:
        OpenQXBackendValueError: naming the first value that cannot, and why.
    """
    for key, value in values.items():
        if key in _ALREADY_JSON or type(value) in _PLAIN:
            continue  # the usual options: nothing to convert (text is checked by the schema)
        try:
            bounds.check_json(to_jsonable_python(value), str(key))
        except PydanticSerializationError as error:
            raise exc.OpenQXBackendValueError(
                f"{what} {key!r} cannot be sent as JSON: {error}."
            ) from None
        except ValueError as error:
            raise exc.OpenQXBackendValueError(
                f"{what} {key!r} cannot be sent as JSON: {error}"
            ) from None


def _problems(error: ValidationError) -> str:
    """A submission the schema refused, in one line naming each field at fault."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "value"
        message = item["msg"].removeprefix("Value error, ").rstrip(".")
        problems.append(message if message.startswith(where) else f"{where}: {message}")
    return "; ".join(problems) + "."


def _serialize_binds(binds: Any, circuits: list[QuantumCircuit]) -> list[dict[str, float]]:
    """``[{Parameter: value}]`` to ``[{name: float}]``, checked against the circuits
    (``openqx.core.parameter_binds``, the rule the server applies)."""
    if not isinstance(binds, list) or not all(isinstance(bind, dict) for bind in binds):
        raise exc.OpenQXBackendValueError(
            "parameter_binds needs to be a list of {Parameter: value} dicts."
        )
    result = []
    for bind in binds:
        named: dict[str, float] = {}
        for key, value in bind.items():
            name = key.name if isinstance(key, Parameter) else key
            if not isinstance(name, str):
                raise exc.OpenQXBackendValueError(f"{key!r} is not a Parameter.")
            try:
                named[name] = float(value)
            except (TypeError, ValueError) as error:
                raise exc.OpenQXBackendValueError(
                    f"The value for parameter {name} is not a number: {value!r}"
                ) from error
        result.append(named)
    try:
        check_parameter_binds(circuits, result)
    except ValueError as error:
        raise exc.OpenQXBackendValueError(str(error)) from error
    return result
