"""The seed's ``AccountProvider``: callable (``backend.provider()``), handing out
``IBMQBackend``/``IBMQSimulator``, with ``provider.backends.<name>`` as the seed allowed."""

from __future__ import annotations

import warnings
from typing import Any

from openqx.client.backend import OpenQXBackend
from openqx.client.http import ApiClient
from openqx.client.provider import AccountProvider as _AccountProvider
from openqx.compat.ibmq.backend import IBMQBackend, IBMQSimulator

__all__ = ["AccountProvider", "DeprecatedBackendService"]


class DeprecatedBackendService:
    """``provider.backends``: called, it lists backends; an attribute (a backend such as
    ``provider.backends.ibmq_qasm_simulator``, or ``jobs``, ``retrieve_job``) comes from
    ``provider.backend`` with a ``DeprecationWarning`` once per provider, as in the seed.

    Args:
        provider: the account provider.
    """

    def __init__(self, provider: AccountProvider) -> None:
        self._provider = provider
        self._warned = False

    def __call__(self, *args: Any, **kwargs: Any) -> list[OpenQXBackend]:
        """Return the backends matching the filters (``AccountProvider.backends``)."""
        return _AccountProvider.backends(self._provider, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if not self._warned:
            self._warned = True
            warnings.warn(
                "The `backends` provider attribute is deprecated. Please use `provider.backend` "
                "(note the singular form) instead. You can use `provider.backend.<backend_name>` "
                "to access backends and their methods.",
                DeprecationWarning,
                stacklevel=2,
            )
        return getattr(self._provider.backend, name)

    def __dir__(self) -> list[str]:
        return dir(self._provider.backend)

    def __repr__(self) -> str:
        return f"<DeprecatedBackendService for {self._provider!r}>"


class AccountProvider(_AccountProvider):
    """The backends and services of one account and instance, as the seed's scripts use them.

    Calling the provider returns it, so ``backend.provider()`` (``BackendV1``) and
    ``backend.provider`` (``BackendV2``) both give the provider.

    Args:
        api_client: the API client.
        instance: the ``hub/group/project`` instance.
    """

    backend_class = IBMQBackend
    simulator_class = IBMQSimulator

    def __init__(self, api_client: ApiClient, instance: str | None = None) -> None:
        super().__init__(api_client, instance)
        self._deprecated_backends = DeprecatedBackendService(self)

    def __call__(self) -> AccountProvider:
        """Return this provider (the seed's ``backend.provider()``)."""
        return self

    def __repr__(self) -> str:
        return (
            f"<AccountProvider for IBMQ(url={self.api_client.url!r}, instance={self.instance!r})>"
        )

    @property
    def backends(self) -> DeprecatedBackendService:  # type: ignore[override]
        """``provider.backends(...)`` lists backends; ``provider.backends.<name>`` is a
        backend (deprecated in the seed: use ``provider.backend.<name>``)."""
        return self._deprecated_backends
