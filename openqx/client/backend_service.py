"""``BackendService`` (``provider.backend``): backends as attributes, jobs across backends."""

from __future__ import annotations

import keyword
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from openqx.client import exceptions as exc
from openqx.client import query as job_query
from openqx.client.job import OpenQXJob
from openqx.client.reservation import BackendReservation, reservations_from_wire
from openqx.core import wire
from openqx.core.primitives import PRIMITIVE_PROGRAMS

if TYPE_CHECKING:
    from openqx.client.backend import OpenQXBackend
    from openqx.client.provider import AccountProvider

__all__ = ["BackendService", "to_python_identifier"]


def to_python_identifier(name: str) -> str:
    """Turn a backend name into an attribute name (``ibm-q.x`` → ``ibm_q_x``)."""
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    name = re.sub(r"\W", "_", name)
    if name[:1].isdigit():
        name = "_" + name
    if keyword.iskeyword(name):
        name += "_"
    return name


class BackendService:
    """The backend service of a provider: ``provider.backend``.

    Every backend is also an attribute (``provider.backend.ibmq_manila``).

    Args:
        provider: the account provider.
    """

    def __init__(self, provider: AccountProvider) -> None:
        self._provider = provider

    def __repr__(self) -> str:
        return f"<BackendService for {self._provider!r}>"

    def _identifiers(self) -> dict[str, OpenQXBackend]:
        names: dict[str, OpenQXBackend] = {}
        for backend in self._provider.backends():
            ident = to_python_identifier(backend.name)
            while ident in names:
                ident += "_"
            names[ident] = backend
        return names

    def __getattr__(self, name: str) -> OpenQXBackend:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._identifiers()[name]
        except KeyError:
            raise AttributeError(f"No backend {name!r}.") from None

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._identifiers()))

    def my_reservations(self) -> list[BackendReservation]:
        """Return the reservations of the caller's projects that have not ended."""
        return reservations_from_wire(self._provider.api_client.admin("GET", "/reservations"))

    def backends(
        self, name: str | None = None, filters: Any = None, **kwargs: Any
    ) -> list[OpenQXBackend]:
        """Return the backends matching the filters (see ``AccountProvider.backends``)."""
        return self._provider.backends(name, filters=filters, **kwargs)

    def jobs(
        self,
        limit: int | None = 10,
        skip: int = 0,
        backend_name: str | None = None,
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
        """Return circuit jobs matching the filters (runtime jobs are listed by
        ``provider.runtime.jobs()``, as in the seed).

        Args:
            limit: how many jobs; ``None`` or 0 for all.
            skip: jobs to skip first.
            backend_name: only jobs of this backend.
            status: a status (``JobStatus`` or name, any case) or a list of them.
            job_name: regular expression matched anywhere in the job name.
            start_datetime: only jobs created at or after this time (naive = local time).
            end_datetime: only jobs created at or before this time (naive = local time).
            job_tags: only jobs with these tags.
            job_tags_operator: ``"OR"`` (any tag) or ``"AND"`` (all tags).
            experiment_id: only jobs of this experiment.
            descending: newest first.
            db_filter: a LoopBack ``where`` filter (the server's whitelisted subset).
            scope: whose jobs: ``"own"`` (the default, as in the seed: the caller's jobs of
                this provider's instance), ``"shared"`` (other users' jobs the caller may
                read: shared at the level of one of their projects, groups or hubs, shared
                ``global``, or in a unit they administer) or ``"all"`` (both).

        Returns:
            The jobs.

        Raises:
            OpenQXBackendValueError: a filter value is not valid.
        """
        query = job_query.build_job_query(
            limit=limit,
            skip=skip,
            backend_name=backend_name,
            status=status,
            job_name=job_name,
            start_datetime=start_datetime,
            end_datetime=end_datetime,
            job_tags=job_tags,
            job_tags_operator=job_tags_operator,
            experiment_id=experiment_id,
            descending=descending,
            db_filter=db_filter,
            kind="circuits",
        )
        scope = job_query.check_scope(scope)
        api = self._provider.api_client
        infos = job_query.iter_job_infos(api, query, limit, scope=scope)
        return [self._job(info) for info in infos]

    def job_ids(
        self,
        limit: int | None = 10,
        skip: int = 0,
        backend_name: str | None = None,
        status: Any = None,
        job_name: str | None = None,
        start_datetime: datetime | None = None,
        end_datetime: datetime | None = None,
        job_tags: list[str] | None = None,
        job_tags_operator: str | None = "OR",
        descending: bool = True,
        *,
        scope: str = "own",
    ) -> list[str]:
        """Return the ids of jobs matching the filters (arguments, ``scope`` included, as in
        ``jobs()``: own jobs by default)."""
        query = job_query.build_job_query(
            limit=limit,
            skip=skip,
            backend_name=backend_name,
            status=status,
            job_name=job_name,
            start_datetime=start_datetime,
            end_datetime=end_datetime,
            job_tags=job_tags,
            job_tags_operator=job_tags_operator,
            descending=descending,
            ids_only=True,
            kind="circuits",
        )
        scope = job_query.check_scope(scope)
        api = self._provider.api_client
        return [info.id for info in job_query.iter_job_infos(api, query, limit, scope=scope)]

    def retrieve_job(self, job_id: str) -> OpenQXJob:
        """Return one job.

        Raises:
            OpenQXBackendApiError: the job does not exist or could not be fetched.
            OpenQXBackendError: the job is a ``sampler`` or ``estimator`` job (its result is a
                ``PrimitiveResult``, not a ``Result``): ``provider.runtime.job(job_id)``
                returns it.
        """
        info = self._provider.api_client.job(job_id, context="backend")
        if info.kind == "runtime" and info.program_id in PRIMITIVE_PROGRAMS:
            raise exc.OpenQXBackendError(
                f"Job {job_id} is a primitive job (program {info.program_id!r}), not a circuit "
                f"job: retrieve it with provider.runtime.job({job_id!r}).",
                job_id=job_id,
            )
        return self._job(info)

    def _job(self, info: wire.JobInfo) -> OpenQXJob:
        backend = self._provider.backend_by_name(info.backend)
        return OpenQXJob(backend, self._provider.api_client, info)
