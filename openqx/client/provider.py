"""``AccountProvider``: the backends and services of one account on one instance."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from qiskit.providers.exceptions import QiskitBackendNotFoundError

from openqx.client import exceptions as exc
from openqx.client.backend import OpenQXBackend
from openqx.client.backend_service import BackendService
from openqx.client.credentials import Credentials
from openqx.client.http import ApiClient
from openqx.client.runtime import RuntimeService

__all__ = ["SERVICES", "AccountProvider"]

SERVICES = ("backend", "runtime")
"""Service names a provider may offer."""


class AccountProvider:
    """Access to the backends of an openqx server for one account and instance.

    Args:
        api_client: the API client holding the server URL and token.
        instance: the ``hub/group/project`` instance jobs are submitted under.
    """

    backend_class: ClassVar[type[OpenQXBackend]] = OpenQXBackend
    """The class of the device backends this provider hands out."""
    simulator_class: ClassVar[type[OpenQXBackend]] = OpenQXBackend
    """The class of the simulator backends (``openqx.compat.ibmq`` uses its own classes)."""

    def __init__(self, api_client: ApiClient, instance: str | None = None) -> None:
        self.api_client = api_client
        self.instance = instance
        self._backends: dict[str, OpenQXBackend] | None = None
        self._backend_service = BackendService(self)
        self._runtime = RuntimeService(self)

    @property
    def credentials(self) -> Credentials:
        """Token, URL and ``hub``/``group``/``project`` of this provider."""
        hub, group, project = self.instance.split("/") if self.instance else (None, None, None)
        return Credentials(self.api_client.token, self.api_client.url, hub, group, project)

    def __repr__(self) -> str:
        return (
            f"<AccountProvider for OpenQX(url={self.api_client.url!r}, instance={self.instance!r})>"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AccountProvider):
            return NotImplemented
        return (
            self.api_client.url == other.api_client.url
            and self.api_client.token == other.api_client.token
            and self.instance == other.instance
        )

    def __hash__(self) -> int:
        return hash((self.api_client.url, self.api_client.token, self.instance))

    def __getstate__(self) -> dict[str, Any]:
        """What copies and pickles carry: everything but the embedded server of
        ``OpenQX.local()`` (threads and sockets), which stays with the original; the copy is
        a client of the same server (``ApiClient`` shares or re-opens the connection)."""
        state = self.__dict__.copy()
        state.pop("embedded_server", None)
        return state

    # --- backends ---------------------------------------------------------------------

    def _catalog(self) -> dict[str, OpenQXBackend]:
        if self._backends is None:
            self._backends = {
                summary.name: (self.simulator_class if summary.simulator else self.backend_class)(
                    self, self.api_client, summary
                )
                for summary in self.api_client.backends()
            }
        return self._backends

    def backend_by_name(self, name: str) -> OpenQXBackend | None:
        """Return the backend called ``name``, or ``None`` when it no longer exists."""
        return self._catalog().get(name)

    def backends(
        self,
        name: str | None = None,
        min_num_qubits: int | None = None,
        simulator: bool | None = None,
        operational: bool | None = None,
        filters: Callable[[OpenQXBackend], bool] | None = None,
        input_allowed: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> list[OpenQXBackend]:
        """Return the backends matching every filter.

        Args:
            name: the backend name.
            min_num_qubits: at least this many qubits.
            simulator: only simulators (``True``) or only devices (``False``).
            operational: only operational (or non-operational) backends.
            filters: a callable applied last.
            input_allowed: ``"job"``, ``"runtime"`` or a list of them: the backend's
                configuration ``input_allowed`` must contain every one.
            **kwargs: matched against the catalog entry, then the configuration, then the
                status of each backend. Where the backend's value is a list, a list filter
                matches when the backend's list contains all its items and a single value
                when the list contains it; other values compare equal.

        Returns:
            The matching backends.
        """
        found = list(self._catalog().values())
        if name is not None:
            found = [b for b in found if b.name == name]
        if min_num_qubits is not None:
            found = [b for b in found if b.summary.num_qubits >= min_num_qubits]
        if simulator is not None:
            found = [b for b in found if b.summary.simulator == simulator]
        if operational is not None:
            found = [b for b in found if b.summary.operational == operational]
        if input_allowed is not None:
            wanted = [input_allowed] if isinstance(input_allowed, str) else list(input_allowed)
            found = [b for b in found if _matches(b, "input_allowed", wanted)]
        for key, value in kwargs.items():
            found = [b for b in found if _matches(b, key, value)]
        if filters is not None:
            found = [b for b in found if filters(b)]
        return found

    def get_backend(self, name: str | None = None, **kwargs: Any) -> OpenQXBackend:
        """Return the one backend matching the filters.

        Raises:
            QiskitBackendNotFoundError: no backend or more than one matches.
        """
        found = self.backends(name, **kwargs)
        if len(found) > 1:
            raise QiskitBackendNotFoundError("More than one backend matches the criteria")
        if not found:
            raise QiskitBackendNotFoundError("No backend matches the criteria")
        return found[0]

    # --- services ---------------------------------------------------------------------

    @property
    def backend(self) -> BackendService:
        """The backend service (``provider.backend.jobs()``, ``.retrieve_job()``...)."""
        return self._backend_service

    @property
    def runtime(self) -> RuntimeService:
        """The runtime service (programs such as ``circuit-runner``)."""
        return self._runtime

    def has_service(self, name: str) -> bool:
        """Whether the provider offers a service.

        Raises:
            OpenQXInputValueError: an unknown service name.
        """
        if name not in SERVICES:
            raise exc.OpenQXInputValueError(f"Unknown service {name} specified.")
        return True

    def services(self) -> dict[str, Any]:
        """Return the available services by name."""
        return {"backend": self._backend_service, "runtime": self._runtime}

    def service(self, name: str) -> Any:
        """Return a service by name.

        Raises:
            OpenQXInputValueError: an unknown service name.
        """
        self.has_service(name)  # raises for an unknown name; every known service is offered
        return self.services()[name]

    def run_circuits(self, circuits: Any, backend_name: str, **kwargs: Any) -> Any:
        """Run circuits through the ``circuit-runner`` program (see ``RuntimeService``)."""
        return self._runtime.run_circuits(circuits, backend_name, **kwargs)


def _matches(backend: OpenQXBackend, key: str, value: Any) -> bool:
    summary = backend.summary
    if key in type(summary).model_fields:
        return _filter_matches(getattr(summary, key), value)
    configuration = backend.configuration_dict()
    if key in configuration:
        return _filter_matches(configuration[key], value)
    status = backend.status()
    return _filter_matches(getattr(status, key, object()), value)


def _filter_matches(actual: Any, wanted: Any) -> bool:
    """A list value contains the wanted item(s) (the seed's ``input_allowed`` rule); other
    values compare equal."""
    if isinstance(actual, list | tuple):
        if isinstance(wanted, list | tuple):
            return actual == wanted or all(item in actual for item in wanted)
        return wanted in actual
    return bool(actual == wanted)
