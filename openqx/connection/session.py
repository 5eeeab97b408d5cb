"""One HTTP session with an openqx server: its base URL, the token and client headers, TLS,
proxies, timeouts and retries, and the reading of an answer as JSON or as a failure
(``openqx.connection.failures``).

Retries follow one rule: a request is tried again after a connection failure (nothing
reached the server, so even a submission is safe to send again), and, when it is idempotent,
after a broken answer or a 502, 503 or 504, with exponential backoff.
"""

from __future__ import annotations

import functools
import ssl
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from importlib import metadata
from typing import Any

import httpx

from openqx.connection.failures import ErrorAnswer, InvalidSetting, InvalidUrl, NoAnswer, NotJson
from openqx.core import wire
from openqx.core.access import INSTANCE_HEADER

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "RETRY_STATUSES",
    "ServerSession",
    "client_info",
    "path_segment",
    "proxy_mounts",
    "ssl_verify",
    "user_agent",
]

DEFAULT_TIMEOUT = 30.0
"""Seconds for connecting and for reading one answer."""
DEFAULT_RETRIES = 3
"""Extra attempts after a retryable failure."""
DEFAULT_BACKOFF = 0.5
"""Seconds before the first retry; doubled on each further retry."""
RETRY_STATUSES = frozenset({502, 503, 504})
"""Answers after which an idempotent request is tried again."""


@functools.cache
def _version(dist: str) -> str:
    """Installed version of ``dist`` or ``"unknown"`` (looked up once per process)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def client_info() -> dict[str, str]:
    """Return the client name and versions sent with each job (``JobSubmission.client_info``)."""
    return {"name": "openqx", "version": _version("openqx"), "qiskit": _version("qiskit")}


def user_agent() -> str:
    """Return the ``User-Agent`` header value."""
    info = client_info()
    return f"openqx-client/{info['version']} qiskit/{info['qiskit']} python-httpx"


def proxy_mounts(
    proxies: Mapping[str, Any] | None, verify: ssl.SSLContext | None = None
) -> dict[str, httpx.BaseTransport] | None:
    """Turn the seed's ``proxies`` into ``httpx`` mounts (one proxy transport per URL pattern).

    Args:
        proxies: ``{"urls": {"http": URL, "https": URL, "http://host": URL}}`` as the seed took
            it (a plain ``{"http": URL}`` mapping is accepted too); ``None`` for no proxy.
        verify: the TLS check of the proxied connections (default: ``ssl_verify(True)``).

    Returns:
        The mounts, or ``None`` for no proxy.

    Raises:
        InvalidSetting: the mapping is malformed or asks for NTLM authentication.
    """
    if not proxies:
        return None
    if not isinstance(proxies, Mapping):
        raise InvalidSetting("proxies needs to be a dict such as {'urls': {'https': URL}}.")
    if proxies.get("username_ntlm") or proxies.get("password_ntlm"):
        raise InvalidSetting(
            "NTLM proxy authentication is not supported; put the user and password in the proxy "
            "URL instead (http://user:password@proxy:port)."
        )
    urls = proxies.get("urls", {} if "urls" in proxies else proxies)
    if not isinstance(urls, Mapping):
        raise InvalidSetting("proxies['urls'] needs to be a dict of scheme or host: URL.")
    tls = verify if verify is not None else ssl_verify(True)
    mounts: dict[str, httpx.BaseTransport] = {}
    for key, proxy_url in urls.items():
        if key in ("username_ntlm", "password_ntlm"):
            continue
        if not isinstance(key, str) or not isinstance(proxy_url, str) or not proxy_url:
            raise InvalidSetting(f"Invalid proxy entry {key!r}: {proxy_url!r}.")
        pattern = key if "://" in key else f"{key}://"
        try:
            mounts[pattern] = httpx.HTTPTransport(proxy=proxy_url, verify=tls)
        except (httpx.InvalidURL, ValueError) as error:
            raise InvalidSetting(f"Invalid proxy URL {proxy_url!r}: {error}") from error
    return mounts or None


@functools.cache
def _default_tls() -> ssl.SSLContext:
    """``httpx``'s default TLS check (certifi's CA bundle, or ``SSL_CERT_FILE`` or
    ``SSL_CERT_DIR``), built once per process: building it loads the CA bundle, which took
    60 ms, and 250 ms for the first one of a process, on the 2-core machine. A context may
    serve any number of connections and threads."""
    return httpx.create_ssl_context()


def _no_tls() -> ssl.SSLContext:
    """The TLS context of a session with a plain ``http://`` server and no proxy (given, or
    in the ``*_PROXY`` variables): it never opens a TLS connection, so it loads no CA bundle;
    it trusts no certificate, so were it ever used, the connection would fail rather than go
    unchecked."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def ssl_verify(verify: bool | str) -> ssl.SSLContext:
    """The TLS check ``verify`` asks for: ``True`` (the default check), ``False`` (none), or the
    path of a CA bundle (as ``requests`` took it).

    Raises:
        InvalidSetting: the CA bundle cannot be loaded, or ``verify`` is neither.
    """
    if verify is True:
        return _default_tls()
    if verify is False:
        return httpx.create_ssl_context(verify=False)
    if isinstance(verify, str):
        try:
            return ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as error:
            raise InvalidSetting(
                f"Unable to load the CA bundle {verify!r} given as verify: {error}"
            ) from error
    raise InvalidSetting(
        f"verify needs to be a bool or the path of a CA bundle, not {type(verify).__name__}."
    )


def path_segment(value: str) -> str:
    """Return ``value`` as one URL path segment, whatever it holds.

    Every character but the unreserved ones is percent-encoded (``/``, ``?``, ``#``, ``%``
    included), so that ``"../backends"`` or ``"x?y=1"`` address the object of that name
    instead of another route or a query; ``.`` and ``..``, which URL normalisation would
    resolve away, are encoded too. The one rule for every id and name put into a path.

    Raises:
        UnicodeEncodeError: ``value`` is not valid text (an unpaired surrogate).
    """
    quoted = urllib.parse.quote(value, safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


class ServerSession:
    """One keep-alive ``httpx.Client`` to an openqx server's API v1.

    Args:
        url: the server's base URL, e.g. ``http://127.0.0.1:8000`` (a trailing ``/v1`` is
            accepted).
        token: the API token, sent as ``Authorization: Bearer <token>``.
        transport: an ``httpx`` transport (tests pass ``httpx.MockTransport``).
        timeout: seconds for connecting and for reading one answer.
        retries: extra attempts after a retryable failure.
        backoff_factor: seconds before the first retry, doubled on each further retry.
        proxies: proxies for the connection, in the seed's format (``proxy_mounts``).
        verify: check the server's TLS certificate (``False``: do not; a path: against that
            CA bundle).
        instance: the instance to act through (the ``X-OpenQX-Instance`` header; None: the
            account's default).

    Attributes:
        url: the base URL without ``/v1``.
        http: the ``httpx.Client`` (its base URL ends in ``/v1``), for streamed requests.
        tls: the TLS check of its connections (``ssl_verify``; a plain ``http://`` server
            reached with no proxy needs none, and gets a context that loads no CA bundle).

    Raises:
        InvalidUrl: ``url`` is not a valid URL.
        InvalidSetting: ``proxies`` or ``verify`` is not valid.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff_factor: float = DEFAULT_BACKOFF,
        proxies: Mapping[str, Any] | None = None,
        verify: bool | str = True,
        instance: str | None = None,
    ) -> None:
        base = url.rstrip("/")
        if base.endswith(wire.API_PREFIX):
            base = base[: -len(wire.API_PREFIX)]
        self.url = base
        self.timeout = timeout
        self.retries = retries
        self.backoff_factor = backoff_factor
        plain = (
            base.lower().startswith("http://")
            and not proxies
            and not urllib.request.getproxies_environment()
        )
        self.tls = _no_tls() if plain and verify is True else ssl_verify(verify)
        mounts = proxy_mounts(proxies, self.tls)
        try:
            self.http = httpx.Client(
                base_url=base + wire.API_PREFIX,
                headers={
                    "Authorization": f"Bearer {token}",
                    "User-Agent": user_agent(),
                    "X-Qx-Client-Application": f"openqx/{client_info()['version']}",
                    **({INSTANCE_HEADER: instance} if instance else {}),
                },
                transport=transport,
                mounts=mounts,
                verify=self.tls,
                timeout=timeout,
            )
        except httpx.InvalidURL as error:
            raise InvalidUrl(f"Invalid URL {url!r}: {error}.") from error

    def set_instance(self, instance: str | None) -> None:
        """Act through ``instance`` from now on (None: the account's default)."""
        if instance:
            self.http.headers[INSTANCE_HEADER] = instance
        else:
            self.http.headers.pop(INSTANCE_HEADER, None)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        content: str | None = None,
        idempotent: bool = True,
        read_timeout: float | None = None,
    ) -> Any:
        """Send a request (``content``: a JSON text) and return its JSON answer (None for an
        empty one), retrying as the module says.

        Args:
            method: the HTTP method.
            path: the path below ``/v1``.
            params: the query.
            content: the JSON body, if any.
            idempotent: whether the request may be sent again after it may have reached the
                server.
            read_timeout: seconds to wait for the answer (default: the session's timeout).

        Raises:
            NoAnswer: no answer came, after the retries.
            ErrorAnswer: the server answered with an error.
            NotJson: the answer is not JSON.
        """
        headers = {"Content-Type": "application/json"} if content is not None else None
        timeout = (
            httpx.USE_CLIENT_DEFAULT
            if read_timeout is None
            else httpx.Timeout(self.timeout, read=read_timeout)
        )
        attempt = 0
        while True:
            try:
                response = self.http.request(
                    method, path, params=params, content=content, headers=headers, timeout=timeout
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                # Nothing reached the server: safe to retry even a submission.
                if attempt < self.retries:
                    attempt = self._sleep(attempt)
                    continue
                raise NoAnswer.from_error(error) from error
            except httpx.HTTPError as error:
                if idempotent and attempt < self.retries:
                    attempt = self._sleep(attempt)
                    continue
                raise NoAnswer.from_error(error) from error
            if response.status_code in RETRY_STATUSES and idempotent and attempt < self.retries:
                attempt = self._sleep(attempt)
                continue
            if response.status_code >= 400:
                raise ErrorAnswer.from_response(response)
            if response.status_code == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError as error:
                raise NotJson(
                    f"The server answered {method} {path} with something that is not JSON."
                ) from error

    def _sleep(self, attempt: int) -> int:
        time.sleep(self.backoff_factor * (2**attempt))
        return attempt + 1
