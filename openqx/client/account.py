"""``OpenQX``: enable, save and load accounts (the seed's ``IBMQ`` factory).

Credentials are stored as JSON in ``account.json`` inside the user's config folder:
``$OPENQX_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/openqx``, else ``~/.config/openqx``. The file
is created with mode 0600 and holds ``token``, ``url`` and optionally ``instance``
(``hub/group/project``), ``proxies`` and ``verify``. ``OPENQX_TOKEN``, ``OPENQX_URL`` and
``OPENQX_INSTANCE`` override the stored values.
"""

from __future__ import annotations

import logging
import os
from typing import Any, ClassVar

from openqx.client import exceptions as exc
from openqx.client.http import ApiClient
from openqx.client.local_service import start_local_service
from openqx.client.provider import AccountProvider
from openqx.connection.account_file import (
    ACCOUNT_FILE,
    STORED_CONNECTION,
    account_path,
    config_dir,
    read_account,
    stored_connection,
    write_account,
)
from openqx.connection.failures import InvalidAccountFile
from openqx.core import instances

__all__ = ["ACCOUNT_FILE", "DEFAULT_URL", "OpenQX", "config_dir", "instance_from_parts"]

logger = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8000"
"""Where ``openqx serve`` listens by default."""
_CLIENT_OPTIONS = ("transport", "timeout", "retries", "backoff_factor", "proxies", "verify")


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
    try:
        return read_account()
    except InvalidAccountFile as error:
        raise exc.OpenQXAccountCredentialsInvalidFormat(str(error)) from error


def instance_from_parts(
    instance: str | None, hub: str | None, group: str | None, project: str | None
) -> str | None:
    """Check ``instance`` or ``hub``/``group``/``project`` as given by the user.

    Returns:
        ``instance``, or ``"hub/group/project"`` when all three parts are given, else ``None``
        (a partial ``hub``/``group``/``project`` is resolved against the account's instances
        once connected).

    Raises:
        OpenQXAccountValueError: a malformed value, or ``instance`` together with parts.
    """
    parts = {"hub": hub, "group": group, "project": project}
    given = {name: value for name, value in parts.items() if value is not None}
    try:
        for name, value in given.items():
            instances.check_instance_part(value, name)
        if instance is not None:
            if given:
                raise ValueError("Give either instance or hub/group/project, not both.")
            instances.split_instance(instance)
    except ValueError as error:
        raise exc.OpenQXAccountValueError(str(error)) from error
    if len(given) == len(parts):
        return f"{hub}/{group}/{project}"
    return instance


def _choose_instance(
    available: list[str],
    instance: str | None,
    hub: str | None,
    group: str | None,
    project: str | None,
) -> str | None:
    """The account instance to use: ``instance``, the one matching the given parts, or the
    account's first."""
    if instance is not None:
        if instance not in available:
            raise exc.OpenQXProviderError(
                f"No provider matches the specified criteria: instance {instance!r} is not one "
                "of the account's instances: "
                f"{', '.join(available) or 'none'}."
            )
        return instance
    if hub is None and group is None and project is None:
        return available[0] if available else None
    found = instances.matching_instances(available, hub, group, project)
    criteria = f"hub={hub!r}, group={group!r}, project={project!r}"
    if not found:
        raise exc.OpenQXProviderError(
            f"No provider matches the specified criteria: {criteria} "
            f"(the account's instances: {', '.join(available) or 'none'})."
        )
    if len(found) > 1:
        raise exc.OpenQXProviderError(
            f"More than one provider matches the specified criteria: {criteria} "
            f"({', '.join(found)})."
        )
    return found[0]


class OpenQX:
    """The account factory: ``OpenQX.enable_account(token, url)`` returns a provider.

    All methods are class or static methods; the active account is process-wide, like the
    seed's ``IBMQ``.
    """

    _provider: ClassVar[AccountProvider | None] = None
    _instances: ClassVar[tuple[str, ...]] = ()
    """The active account's instances (``hub/group/project``), default first."""
    provider_class: ClassVar[type[AccountProvider]] = AccountProvider
    """The provider class accounts are given (``openqx.compat.ibmq`` uses its own)."""

    @classmethod
    def enable_account(
        cls,
        token: str,
        url: str = DEFAULT_URL,
        instance: str | None = None,
        *,
        hub: str | None = None,
        group: str | None = None,
        project: str | None = None,
        **kwargs: Any,
    ) -> AccountProvider:
        """Authenticate against a server and return the provider for one instance.

        Args:
            token: the API token.
            url: the server URL.
            instance: the ``hub/group/project`` instance (default: the account's first).
            hub: instead of ``instance``: the hub of the instance to use.
            group: the group of the instance to use.
            project: the project of the instance to use (given parts must match exactly one
                of the account's instances).
            **kwargs: ``ApiClient`` options (``proxies``, ``verify``, ``transport``,
                ``timeout``, ``retries``, ``backoff_factor``).

        Returns:
            The account provider.

        Raises:
            OpenQXAccountValueError: a malformed ``instance``, ``hub``, ``group`` or
                ``project``.
            OpenQXProviderError: no single instance of the account matches.
            OpenQXAccountCredentialsInvalidUrl: ``url`` is not an openqx server.
            OpenQXAccountCredentialsInvalidToken: the server refused the token.
        """
        # The seed refused a second enable_account(); a user connecting to another server (or
        # a script run twice in one notebook) wants the new account to take over instead.
        # Providers handed out earlier keep working. (``openqx.compat.ibmq.IBMQ`` refuses.)
        provider = cls._connect(
            _check_token(token), _check_url(url), instance, hub, group, project, **kwargs
        )
        cls._provider = provider
        return provider

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
    ) -> AccountProvider:
        unknown = set(kwargs) - set(_CLIENT_OPTIONS)
        if unknown:
            raise exc.OpenQXAccountError(f"Unknown account options: {sorted(unknown)}.")
        instance = instance_from_parts(instance, hub, group, project)
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
        try:
            chosen = _choose_instance(account.instances, instance, hub, group, project)
        except exc.OpenQXError:
            api.close()
            raise
        cls._instances = tuple(account.instances)
        api.set_instance(chosen)
        return cls.provider_class(api, chosen)

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
    def providers(
        cls, hub: str | None = None, group: str | None = None, project: str | None = None
    ) -> list[AccountProvider]:
        """The active account's providers, one per instance whose parts equal every part
        given (all of them without arguments), default first.

        Raises:
            OpenQXAccountCredentialsNotFound: no account is active.
        """
        active = cls.get_provider()
        found = instances.matching_instances(list(cls._instances), hub, group, project)
        return [
            active
            if instance == active.instance
            else cls.provider_class(active.api_client.for_instance(instance), instance)
            for instance in found
        ]

    @classmethod
    def get_provider(
        cls, hub: str | None = None, group: str | None = None, project: str | None = None
    ) -> AccountProvider:
        """Return the active account's provider, or with ``hub``/``group``/``project`` the
        one provider of the instance matching them.

        Raises:
            OpenQXAccountCredentialsNotFound: no account is active.
            OpenQXProviderError: none or more than one instance matches (the message lists
                the account's instances).
        """
        if cls._provider is None:
            raise exc.OpenQXAccountCredentialsNotFound("No account is in use for the session.")
        if hub is None and group is None and project is None:
            return cls._provider
        found = cls.providers(hub, group, project)
        criteria = f"hub={hub!r}, group={group!r}, project={project!r}"
        if len(found) != 1:
            many = "More than one provider matches" if found else "No provider matches"
            raise exc.OpenQXProviderError(
                f"{many} the specified criteria: {criteria} (the account's instances: "
                f"{', '.join(cls._instances) or 'none'})."
            )
        return found[0]

    @classmethod
    def load_account(cls, **kwargs: Any) -> AccountProvider:
        """Enable the stored account (``OPENQX_TOKEN``/``OPENQX_URL`` override the file).

        An account already active is replaced. Stored ``proxies`` and ``verify`` are used
        unless ``kwargs`` gives them.

        Args:
            **kwargs: ``ApiClient`` options, as for ``enable_account``.

        Raises:
            OpenQXAccountCredentialsNotFound: no token stored or in the environment.
            OpenQXAccountCredentialsInvalidFormat: the stored account file is not valid.
            OpenQXAccountValueError: the stored or environment instance is malformed.
            OpenQXProviderError: the stored instance is not one of the account's.
        """
        found = cls._stored_credentials()
        token = found.pop("token", None)
        if not token:
            raise exc.OpenQXAccountCredentialsNotFound(
                f"No openqx credentials found: call {cls.__name__}.save_account(token, url) or "
                "set OPENQX_TOKEN."
            )
        url = found.pop("url", None) or DEFAULT_URL
        instance = found.pop("instance", None)
        if instance is not None:
            try:
                instances.split_instance(instance)
            except ValueError as error:
                raise exc.OpenQXAccountValueError(
                    f"The stored account's instance is malformed: {error} Save the account "
                    "again with a valid hub, group and project."
                ) from error
        options = stored_connection(found)
        options.update(kwargs)
        provider = cls._connect(_check_token(token), _check_url(url), instance, **options)
        if cls._provider is not None:
            logger.info("Replacing the active account.", extra={"action": "load_account"})
        cls._provider = provider
        return provider

    @classmethod
    def _stored_credentials(cls) -> dict[str, Any]:
        """The credentials ``load_account`` uses: the file, overridden by ``OPENQX_*``."""
        found = dict(_read_stored())
        for key, variable in (
            ("token", "OPENQX_TOKEN"),
            ("url", "OPENQX_URL"),
            ("instance", "OPENQX_INSTANCE"),
        ):
            if os.environ.get(variable):
                found[key] = os.environ[variable]
        return found

    @staticmethod
    def save_account(
        token: str,
        url: str = DEFAULT_URL,
        overwrite: bool = False,
        instance: str | None = None,
        *,
        hub: str | None = None,
        group: str | None = None,
        project: str | None = None,
        proxies: dict[str, Any] | None = None,
        verify: bool | None = None,
    ) -> None:
        """Store an account on disk (mode 0600) for ``load_account``.

        Args:
            token: the API token.
            url: the server URL.
            overwrite: replace an account already stored.
            instance: the default instance.
            hub: instead of ``instance``: its hub (``hub``, ``group`` and ``project`` go
                together: all three or none).
            group: its group.
            project: its project.
            proxies: proxies to connect through (see ``ApiClient``).
            verify: whether to check the server's TLS certificate.

        Raises:
            OpenQXAccountCredentialsInvalidToken: ``token`` is not a non-empty string.
            OpenQXAccountCredentialsInvalidUrl: ``url`` is not an http(s) URL.
            OpenQXAccountValueError: a malformed instance, or only some of hub, group and
                project.
        """
        data: dict[str, Any] = {"token": _check_token(token), "url": _check_url(url)}
        parts = [part for part in (hub, group, project) if part is not None]
        if parts and len(parts) != 3:
            raise exc.OpenQXAccountValueError(
                "The hub, group, and project parameters must all be specified when storing "
                "a default instance to disk: "
                f"hub={hub!r}, group={group!r}, project={project!r}."
            )
        instance = instance_from_parts(instance, hub, group, project)
        if instance is not None:
            data["instance"] = instance
        if proxies:
            data["proxies"] = dict(proxies)
        if verify is not None:
            data["verify"] = bool(verify)
        if account_path().exists() and not overwrite:
            logger.warning(
                "Credentials already present. Set overwrite=True to overwrite.",
                extra={"action": "save_account"},
            )
            return
        write_account(data)

    @staticmethod
    def delete_account() -> None:
        """Delete the stored account.

        Raises:
            OpenQXAccountCredentialsNotFound: no account is stored.
        """
        path = account_path()
        if not path.exists():
            raise exc.OpenQXAccountCredentialsNotFound("No stored openqx account found.")
        path.unlink()

    @staticmethod
    def stored_account() -> dict[str, str]:
        """Return the stored ``{"token", "url"}`` (and ``instance``), or ``{}``."""
        return {
            key: str(value) for key, value in _read_stored().items() if key not in STORED_CONNECTION
        }

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
