"""``openqx.connection``: the TLS contexts a session uses and the text of its failures."""

from __future__ import annotations

import ssl

import httpx
import pytest

from openqx.connection.failures import ErrorAnswer, InvalidSetting, NoAnswer
from openqx.connection.session import ServerSession, ssl_verify


def test_the_default_check_is_built_once_and_trusts_the_ca_bundle() -> None:
    first, second = ssl_verify(True), ssl_verify(True)
    assert first is second
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    assert first.cert_store_stats()["x509_ca"] > 0


def test_verify_false_checks_nothing_and_a_bad_value_is_refused() -> None:
    assert ssl_verify(False).verify_mode == ssl.CERT_NONE
    with pytest.raises(InvalidSetting, match="bool or the path"):
        ssl_verify(1)  # type: ignore[arg-type]


def test_a_plain_http_session_loads_no_ca_bundle_and_would_trust_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.upper(), raising=False)
    context = ServerSession("http://server.test", "t").tls
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
    assert ServerSession("https://server.test", "t").tls is ssl_verify(True)
    # A proxy may be reached over TLS: then the session checks certificates as usual.
    proxied = ServerSession("http://server.test", "t", proxies={"https": "https://proxy:3128"})
    assert proxied.tls is ssl_verify(True)
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy:3128")
    assert ServerSession("http://server.test", "t").tls is ssl_verify(True)


def test_a_session_sends_the_token_and_reads_error_answers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/refused":
            body = {"error": {"code": "unauthenticated", "message": "unknown token"}}
            return httpx.Response(401, json=body)
        return httpx.Response(404, text="<html>no such page</html>")

    api = ServerSession("http://server.test/v1/", "t0ken", transport=httpx.MockTransport(handler))
    with pytest.raises(ErrorAnswer) as refused:
        api.request("GET", "/refused")
    assert refused.value.status == 401 and refused.value.code == "unauthenticated"
    assert "token was refused" in str(refused.value) and "unknown token" in str(refused.value)
    with pytest.raises(ErrorAnswer) as missing:
        api.request("GET", "/elsewhere")
    assert (missing.value.code, missing.value.message) == ("not_found", "<html>no such page</html>")
    assert str(missing.value) == "<html>no such page</html> (HTTP 404, error code: not_found)"
    assert api.url == "http://server.test"
    assert {r.headers["Authorization"] for r in seen} == {"Bearer t0ken"}


def test_no_answer_names_the_url_after_the_retries() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    api = ServerSession(
        "http://server.test",
        "t",
        transport=httpx.MockTransport(handler),
        retries=2,
        backoff_factor=0,
    )
    with pytest.raises(NoAnswer) as failed:
        api.request("POST", "/jobs", content="{}", idempotent=False)
    assert calls == 3  # nothing reached the server: even a POST is tried again
    assert failed.value.url == "http://server.test/v1/jobs"
    assert "Could not reach the openqx server at http://server.test/v1/jobs" in str(failed.value)
