"""Point 1 of the legacy issue, through ``openqx.compat.ibmq``: accounts as the seed had them.

``IBMQ.enable_account(token, url, hub, group, project, proxies=..., verify=...)`` with proxies
and verify used for the HTTP connection (a forwarding proxy and a TLS front end with its own
certificate prove it), a second ``enable_account`` refused, hub/group/project checked, and the
stored account's hub/group/project checked on save and on load."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from openqx.compat.ibmq import (
    IBMQ,
    IBMQAccountError,
    IBMQAccountValueError,
    IBMQProviderError,
    RequestsApiError,
)
from openqx.core.instances import DEFAULT_INSTANCE
from openqx.embedded import EmbeddedServer
from tests.e2e.compat_helpers import Forwarder, self_signed_certificate

HUB, GROUP, PROJECT = DEFAULT_INSTANCE.split("/")


@pytest.fixture(autouse=True)
def no_active_account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test starts without an active IBMQ account and with an empty config folder."""
    monkeypatch.setenv("OPENQX_CONFIG_DIR", str(tmp_path / "config"))
    for name in ("OPENQX_TOKEN", "OPENQX_URL", "OPENQX_INSTANCE", "QE_TOKEN", "QE_URL"):
        monkeypatch.delenv(name, raising=False)
    yield
    if IBMQ.active_account() is not None:
        IBMQ.disable_account()


def test_a_second_enable_account_is_refused(server: EmbeddedServer) -> None:
    provider = IBMQ.enable_account(server.token, server.url)
    with pytest.raises(IBMQAccountError, match="already in use"):
        IBMQ.enable_account(server.token, server.url)
    assert IBMQ.get_provider() is provider
    IBMQ.disable_account()
    again = IBMQ.enable_account(server.token, server.url)
    assert again is not provider and again == provider


def test_hub_group_project_choose_the_instance(server: EmbeddedServer) -> None:
    provider = IBMQ.enable_account(server.token, server.url, HUB, GROUP, PROJECT)
    assert provider.instance == DEFAULT_INSTANCE
    IBMQ.disable_account()
    assert IBMQ.enable_account(server.token, server.url, hub=HUB).instance == DEFAULT_INSTANCE
    IBMQ.disable_account()
    with pytest.raises(IBMQProviderError, match="No provider matches"):
        IBMQ.enable_account(server.token, server.url, hub="ibm-q", group="open", project="main")
    assert IBMQ.active_account() is None


@pytest.mark.parametrize(
    ("hub", "group", "project", "message"),
    [
        ("", GROUP, PROJECT, "hub needs to be a non-empty string"),
        (HUB, "a/b", PROJECT, "must not contain '/'"),
        (HUB, GROUP, 7, "project needs to be a non-empty string"),
    ],
)
def test_malformed_hub_group_project(
    server: EmbeddedServer, hub: object, group: object, project: object, message: str
) -> None:
    with pytest.raises(IBMQAccountValueError, match=message):
        IBMQ.enable_account(server.token, server.url, hub, group, project)  # type: ignore[arg-type]
    assert IBMQ.active_account() is None


def test_proxies_are_used(server: EmbeddedServer) -> None:
    with Forwarder(server.url) as proxy:
        provider = IBMQ.enable_account(
            server.token, server.url, proxies={"urls": {"http": proxy.url}}
        )
        assert [b.name() for b in provider.backends("fake_manila")] == ["fake_manila"]
    # A forward proxy receives absolute URLs: these requests went through it.
    assert f"GET {server.url}/v1/version" in proxy.seen
    assert f"GET {server.url}/v1/account" in proxy.seen
    assert f"GET {server.url}/v1/backends" in proxy.seen


def test_a_proxy_that_is_down_is_not_bypassed(server: EmbeddedServer) -> None:
    with Forwarder(server.url) as proxy:
        dead = proxy.url
    # The server itself answers, but the proxy does not: the request fails as in the seed.
    with pytest.raises(RequestsApiError, match="Could not reach"):
        IBMQ.enable_account(server.token, server.url, proxies={"urls": {"http": dead}}, retries=0)
    assert IBMQ.active_account() is None
    with pytest.raises(IBMQAccountError, match="NTLM"):
        IBMQ.enable_account(
            server.token,
            server.url,
            proxies={"urls": {"http": dead}, "username_ntlm": "u", "password_ntlm": "p"},
        )


def test_verify_is_used(server: EmbeddedServer, tmp_path: Path) -> None:
    certificate = self_signed_certificate(tmp_path)
    with Forwarder(server.url, certificate=certificate) as tls:
        with pytest.raises(RequestsApiError, match="CERTIFICATE_VERIFY_FAILED"):
            IBMQ.enable_account(server.token, tls.url, retries=0)
        provider = IBMQ.enable_account(server.token, tls.url, verify=False)
        assert provider.get_backend("fake_manila").name() == "fake_manila"
        IBMQ.disable_account()
        provider = IBMQ.enable_account(server.token, tls.url, verify=str(certificate[0]))
        assert provider.get_backend("fake_manila").name() == "fake_manila"
    assert tls.seen.count("GET /v1/account") == 2


def test_save_account_checks_hub_group_project(server: EmbeddedServer) -> None:
    with pytest.raises(IBMQAccountValueError, match="must all be specified"):
        IBMQ.save_account(server.token, server.url, HUB)
    with pytest.raises(IBMQAccountValueError, match="must not contain '/'"):
        IBMQ.save_account(server.token, server.url, HUB, GROUP, "p/q")
    assert IBMQ.stored_account() == {}

    IBMQ.save_account(server.token, server.url, HUB, GROUP, PROJECT)
    assert IBMQ.stored_account() == {
        "token": server.token,
        "url": server.url,
        "instance": DEFAULT_INSTANCE,
    }
    provider = IBMQ.load_account()
    assert provider.instance == DEFAULT_INSTANCE


def test_load_account_refuses_a_malformed_stored_instance(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    stored = {"token": server.token, "url": server.url, "instance": "only/two"}
    (folder / "account.json").write_text(json.dumps(stored))
    with pytest.raises(IBMQAccountValueError, match="malformed"):
        IBMQ.load_account()
    assert IBMQ.active_account() is None


def test_stored_proxies_and_verify_are_used(server: EmbeddedServer) -> None:
    with Forwarder(server.url) as proxy:
        IBMQ.save_account(
            server.token, server.url, proxies={"urls": {"http": proxy.url}}, verify=False
        )
        assert IBMQ.stored_account() == {"token": server.token, "url": server.url}
        provider = IBMQ.load_account()
        assert provider.api_client.verify is False
        provider.backends()
    assert f"GET {server.url}/v1/backends" in proxy.seen
