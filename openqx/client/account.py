"""``OpenQX``: enable, save and load accounts (the seed's ``IBMQ`` factory).

Credentials are stored as JSON in ``account.json`` inside the user's config folder:
``$OPENQX_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/openqx``, else ``~/.config/openqx``. The file
is created with mode 0600. ``OPENQX_TOKEN`` and ``OPENQX_URL`` override the stored values.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, ClassVar

from openqx.client import exceptions as exc
from openqx.client.http import ApiClient
from openqx.client.local_service import start_local_service
from openqx.client.provider import AccountProvider

__all__ = ["ACCOUNT_FILE", "DEFAULT_URL", "OpenQX", "config_dir"]

logger = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8000"
"""Where ``openqx serve`` listens by default."""
ACCOUNT_FILE = "account.json"
"""Name of the credentials file in the config folder."""
_CLIENT_OPTIONS = ("transport", "timeout", "retries", "backoff_factor")


def config_dir() -> Path:
    """Return the folder that holds ``account.json``."""
    explicit = os.environ.get("OPENQX_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "openqx"


def _account_path() -> Path:
    return config_dir() / ACCOUNT_FILE


def _check_token(token: object) -> str:
    if not isinstance(token, str) or not token.strip():
        raise exc.OpenQXAccountCredentialsInvalidToken(
            "Invalid token found: the token needs to be a non-empty string."
        )
    return token


def _check_url(url: object) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise exc.OpenQXAccountCredentialsInvalidUrl(
            f"Invalid URL {url!r}: it needs to start with http:// or https://."
        )
    return url


def _read_stored() -> dict[str, Any]:
    path = _account_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise exc.OpenQXAccountError(
            f"Unable to read the stored account {path}: {error}"
        ) from error
    if not isinstance(data, dict):
        raise exc.OpenQXAccountError(f"The stored account {path} is not valid.")
    return data


class OpenQX:
    """The account factory: ``OpenQX.enable_account(token, url)`` returns a provider.

    All methods are class or static methods; the active account is process-wide, like the
    seed's ``IBMQ``.
    """

    _provider: ClassVar[AccountProvider | None] = None

    @classmethod
    def enable_account(
        cls,
        token: str,
        url: str = DEFAULT_URL,
        instance: str | None = None,
        **kwargs: Any,
    ) -> AccountProvider:
        """Authenticate against a server and return the provider for one instance.

        Args:
            token: the API token.
            url: the server URL.
            instance: the ``hub/group/project`` instance (default: the account's first).
            **kwargs: ``ApiClient`` options (``transport``, ``timeout``, ``retries``,
                ``backoff_factor``).

        Returns:
            The account provider.

        Raises:
            OpenQXAccountError: ``instance`` is not one of the account's.
            OpenQXAccountCredentialsInvalidUrl: ``url`` is not an openqx server.
            OpenQXAccountCredentialsInvalidToken: the server refused the token.
        """
        # The seed refused a second enable_account(); a user connecting to another server (or
        # a script run twice in one notebook) wants the new account to take over instead.
        # Providers handed out earlier keep working.
        provider = cls._connect(_check_token(token), _check_url(url), instance, **kwargs)
        cls._provider = provider
        return provider

    @staticmethod
    def _connect(token: str, url: str, instance: str | None, **kwargs: Any) -> AccountProvider:
        unknown = set(kwargs) - set(_CLIENT_OPTIONS)
        if unknown:
            raise exc.OpenQXAccountError(f"Unknown account options: {sorted(unknown)}.")
        api = ApiClient(url, token, **kwargs)
        try:
            version = api.version()
        except exc.OpenQXAccountCredentialsInvalidToken:
            version = None  # the server wants a token even for /version: it answered
        except exc.OpenQXError as error:
            api.close()
            raise exc.OpenQXAccountCredentialsInvalidUrl(
                f"The URL {url} does not point to an openqx server: {error}"
            ) from error
        if version is not None and version.name != "openqx":
            api.close()
            raise exc.OpenQXAccountCredentialsInvalidUrl(
                f"The URL {url} points to {version.name!r}, not to an openqx server."
            )
        try:
            account = api.account()
        except exc.OpenQXAccountCredentialsInvalidToken as error:
            api.close()
            raise exc.OpenQXAccountCredentialsInvalidToken(
                f"The server at {url} refused the API token: {error.message}",
                status_code=error.status_code,
                code=error.code,
            ) from error
        except exc.OpenQXError:
            api.close()
            raise
        if instance is None:
            instance = account.instances[0] if account.instances else None
        elif instance not in account.instances:
            api.close()
            raise exc.OpenQXAccountError(
                f"Instance {instance!r} is not one of the account's instances: "
                f"{', '.join(account.instances) or 'none'}."
            )
        return AccountProvider(api, instance)

    @classmethod
    def disable_account(cls) -> None:
        """Forget the active account.

        Raises:
            OpenQXAccountCredentialsNotFound: no account is active.
        """
        if cls._provider is None:
            raise exc.OpenQXAccountCredentialsNotFound("No account is in use for the session.")
        cls._provider.api_client.close()
        cls._provider = None

    @classmethod
    def active_account(cls) -> dict[str, str] | None:
        """Return ``{"token", "url"}`` of the active account, or ``None``."""
        if cls._provider is None:
            return None
        return {"token": cls._provider.api_client.token, "url": cls._provider.api_client.url}

    @classmethod
    def get_provider(cls) -> AccountProvider:
        """Return the active account's provider.

        Raises:
            OpenQXAccountCredentialsNotFound: no account is active.
        """
        if cls._provider is None:
            raise exc.OpenQXAccountCredentialsNotFound("No account is in use for the session.")
        return cls._provider

    @classmethod
    def load_account(cls, **kwargs: Any) -> AccountProvider:
        """Enable the stored account (``OPENQX_TOKEN``/``OPENQX_URL`` override the file).

        An account already active is replaced.

        Args:
            **kwargs: ``ApiClient`` options, as for ``enable_account``.

        Raises:
            OpenQXAccountCredentialsNotFound: no token stored or in the environment.
        """
        stored = _read_stored()
        token = os.environ.get("OPENQX_TOKEN") or stored.get("token")
        url = os.environ.get("OPENQX_URL") or stored.get("url") or DEFAULT_URL
        instance = os.environ.get("OPENQX_INSTANCE") or stored.get("instance")
        if not token:
            raise exc.OpenQXAccountCredentialsNotFound(
                "No openqx credentials found: call OpenQX.save_account(token, url) or set "
                "OPENQX_TOKEN."
            )
        provider = cls._connect(_check_token(token), _check_url(url), instance, **kwargs)
        if cls._provider is not None:
            logger.info("Replacing the active account.", extra={"action": "load_account"})
        cls._provider = provider
        return provider

    @staticmethod
    def save_account(
        token: str,
        url: str = DEFAULT_URL,
        overwrite: bool = False,
        instance: str | None = None,
    ) -> None:
        """Store an account on disk (mode 0600) for ``load_account``.

        Args:
            token: the API token.
            url: the server URL.
            overwrite: replace an account already stored.
            instance: the default instance.

        Raises:
            OpenQXAccountCredentialsInvalidToken: ``token`` is not a non-empty string.
            OpenQXAccountCredentialsInvalidUrl: ``url`` is not an http(s) URL.
        """
        data: dict[str, Any] = {"token": _check_token(token), "url": _check_url(url)}
        if instance is not None:
            data["instance"] = instance
        path = _account_path()
        if path.exists() and not overwrite:
            logger.warning(
                "Credentials already present. Set overwrite=True to overwrite.",
                extra={"action": "save_account"},
            )
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{ACCOUNT_FILE}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        os.replace(temporary, path)

    @staticmethod
    def delete_account() -> None:
        """Delete the stored account.

        Raises:
            OpenQXAccountCredentialsNotFound: no account is stored.
        """
        path = _account_path()
        if not path.exists():
            raise exc.OpenQXAccountCredentialsNotFound("No stored openqx account found.")
        path.unlink()

    @staticmethod
    def stored_account() -> dict[str, str]:
        """Return the stored ``{"token", "url"}`` (and ``instance``), or ``{}``."""
        return {key: str(value) for key, value in _read_stored().items()}

    @staticmethod
    def local(**kwargs: Any) -> AccountProvider:
        """Start an embedded server in this process and return its provider.

        The service is found through the ``openqx.local_service`` entry point
        (``openqx.client.local_service``), so the client never imports the server itself.
        Needs the server extras (``pip install openqx[server]``).

        Args:
            **kwargs: options of ``openqx.embedded.start_local``.

        Raises:
            OpenQXAccountError: the server extras are not installed.
        """
        return start_local_service(**kwargs)
