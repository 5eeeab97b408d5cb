"""``IBMQ``: the seed's account factory, on openqx servers.

Differences from ``openqx.OpenQX`` that the seed had: a second ``enable_account`` while an
account is active raises ``IBMQAccountError``; the positional order of ``save_account`` is
``(token, url, hub, group, project, overwrite)``; ``load_account`` also reads the seed's
environment variables ``QE_TOKEN``, ``QE_URL``, ``QE_HUB``, ``QE_GROUP`` and ``QE_PROJECT``
(``QE_TOKEN`` and ``QE_URL`` together), raising ``IBMQAccountMultipleCredentialsFound`` when
they name another token than ``OPENQX_TOKEN``; a server that does not answer raises the
seed's ``RequestsApiError``. Providers are the compat ``AccountProvider``.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from openqx.client import exceptions as exc
from openqx.client.account import DEFAULT_URL, OpenQX, instance_from_parts
from openqx.client.provider import AccountProvider as _AccountProvider
from openqx.compat.ibmq.provider import AccountProvider

__all__ = ["IBMQ", "IBMQFactory"]

_SEED_ENVIRONMENT = ("QE_TOKEN", "QE_URL", "QE_HUB", "QE_GROUP", "QE_PROJECT")
_SAVE_OPTIONS = ("proxies", "verify")


class IBMQFactory(OpenQX):
    """Enable, save and load accounts as the seed's ``IBMQ`` did."""

    _provider: ClassVar[_AccountProvider | None] = None
    provider_class: ClassVar[type[_AccountProvider]] = AccountProvider

    @classmethod
    def enable_account(  # type: ignore[override]
        cls,
        token: str,
        url: str = DEFAULT_URL,
        hub: str | None = None,
        group: str | None = None,
        project: str | None = None,
        **kwargs: Any,
    ) -> _AccountProvider:
        """Authenticate against an openqx server and return a provider.

        Args:
            token: the API token.
            url: the server URL.
            hub: the hub of the instance to use (default: the account's first instance).
            group: its group.
            project: its project (the given parts must match exactly one instance).
            **kwargs: ``proxies`` (``{"urls": {"https": URL}}``) and ``verify`` (bool or a CA
                bundle path) for the HTTP connection; ``ApiClient`` options.

        Returns:
            The provider.

        Raises:
            IBMQAccountError: an account is already in use for the session.
            IBMQAccountValueError: a malformed ``hub``, ``group`` or ``project``.
            IBMQProviderError: no single instance of the account matches them.
            IBMQAccountCredentialsInvalidUrl: ``url`` is not an openqx server.
            IBMQAccountCredentialsInvalidToken: the server refused the token.
        """
        if cls._provider is not None:
            raise exc.OpenQXAccountError(
                "An IBM Quantum account is already in use for the session. Call "
                "IBMQ.disable_account() first to use another one."
            )
        return super().enable_account(token, url, hub=hub, group=group, project=project, **kwargs)

    @classmethod
    def _connect(
        cls,
        token: str,
        url: str,
        instance: str | None,
        hub: str | None = None,
        group: str | None = None,
        project: str | None = None,
        **kwargs: Any,
    ) -> _AccountProvider:
        try:
            return super()._connect(token, url, instance, hub, group, project, **kwargs)
        except exc.OpenQXAccountCredentialsInvalidUrl as error:
            # The seed let the failed request itself out when the server did not answer.
            failed = error.__cause__
            if isinstance(failed, exc.RequestsApiError):
                raise exc.RequestsApiError(
                    str(failed), status_code=failed.status_code
                ) from failed.__cause__
            raise

    @staticmethod
    def save_account(  # type: ignore[override]
        token: str,
        url: str = DEFAULT_URL,
        hub: str | None = None,
        group: str | None = None,
        project: str | None = None,
        overwrite: bool = False,
        **kwargs: Any,
    ) -> None:
        """Store an account on disk for ``load_account``, as the seed's ``save_account``.

        Args:
            token: the API token.
            url: the server URL.
            hub: the hub of the default instance (all three of hub, group and project, or
                none).
            group: its group.
            project: its project.
            overwrite: replace an account already stored.
            **kwargs: ``proxies`` and ``verify``, stored with the account.

        Raises:
            IBMQAccountCredentialsInvalidToken: ``token`` is not a non-empty string.
            IBMQAccountCredentialsInvalidUrl: ``url`` is not an http(s) URL.
            IBMQAccountValueError: only some of hub, group and project, or a malformed one.
        """
        unknown = set(kwargs) - set(_SAVE_OPTIONS)
        if unknown:
            raise exc.OpenQXAccountError(f"Unknown account options: {sorted(unknown)}.")
        OpenQX.save_account(
            token,
            url,
            overwrite,
            hub=hub,
            group=group,
            project=project,
            proxies=kwargs.get("proxies"),
            verify=kwargs.get("verify"),
        )

    @classmethod
    def _stored_credentials(cls) -> dict[str, Any]:
        """The stored account, ``OPENQX_*`` and then the seed's ``QE_*`` variables."""
        found = super()._stored_credentials()
        seed = {name: os.environ.get(name) for name in _SEED_ENVIRONMENT}
        if not (seed["QE_TOKEN"] and seed["QE_URL"]):
            return found
        openqx_token = os.environ.get("OPENQX_TOKEN")
        if openqx_token and openqx_token != seed["QE_TOKEN"]:
            raise exc.OpenQXAccountMultipleCredentialsFound(
                "Different credentials found in QE_TOKEN and OPENQX_TOKEN; unset one of them."
            )
        parts = (seed["QE_HUB"], seed["QE_GROUP"], seed["QE_PROJECT"])
        if any(parts) and not all(parts):
            raise exc.OpenQXAccountValueError(
                "QE_HUB, QE_GROUP and QE_PROJECT must be set together: "
                f"hub={parts[0]!r}, group={parts[1]!r}, project={parts[2]!r}."
            )
        found.update(token=seed["QE_TOKEN"], url=seed["QE_URL"])
        if all(parts):
            found["instance"] = instance_from_parts(None, *parts)
        return found


IBMQ = IBMQFactory
"""The factory, used as the seed's ``IBMQ`` (``IBMQ.load_account()``)."""
