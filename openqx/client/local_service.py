"""Where ``OpenQX.local()`` finds the embedded service: an entry point, not an import.

The client never imports the server packages (a client-only install does not have their
dependencies, and the client must stay importable without them). The ``openqx`` distribution
declares the embedded service under the entry-point group ``openqx.local_service``::

    [project.entry-points."openqx.local_service"]
    default = "openqx.embedded:start_local"

and ``start_local_service`` resolves it at call time.
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

from openqx.client import exceptions as exc

if TYPE_CHECKING:
    from openqx.client.provider import AccountProvider

__all__ = ["LOCAL_SERVICE_ENTRY_POINT", "LOCAL_SERVICE_GROUP", "start_local_service"]

LOCAL_SERVICE_GROUP = "openqx.local_service"
"""Entry-point group that names the function starting an embedded service."""
LOCAL_SERVICE_ENTRY_POINT = "default"
"""Name of the entry point ``OpenQX.local()`` uses in that group."""

_INSTALL_HINT = "install the server extras: pip install openqx[server]"


def start_local_service(**kwargs: Any) -> AccountProvider:
    """Start the embedded service registered under ``openqx.local_service`` and connect.

    Args:
        **kwargs: options of the registered function (``openqx.embedded.start_local``:
            ``data_dir``, ``executor``, ``db_url``...).

    Returns:
        The provider of the embedded service's admin account.

    Raises:
        OpenQXAccountError: no embedded service is installed (the message says what to
            install).
    """
    found = metadata.entry_points(group=LOCAL_SERVICE_GROUP, name=LOCAL_SERVICE_ENTRY_POINT)
    entry = next(iter(found), None)
    if entry is None:
        raise exc.OpenQXAccountError(
            f"OpenQX.local() needs the embedded service (entry point "
            f"{LOCAL_SERVICE_GROUP}:{LOCAL_SERVICE_ENTRY_POINT} not found); {_INSTALL_HINT}."
        )
    try:
        start = entry.load()
    except ImportError as error:
        raise exc.OpenQXAccountError(
            f"OpenQX.local() could not load the embedded service {entry.value} "
            f"({error}); {_INSTALL_HINT}."
        ) from error
    provider: AccountProvider = start(**kwargs)
    return provider
