from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from openqx.client import OpenQX
from openqx.client import exceptions as exc

TOKEN = "secret-token"
URL = "http://openqx.test"


def test_enable_account(transport: httpx.MockTransport) -> None:
    provider = OpenQX.enable_account(TOKEN, URL, transport=transport)
    assert provider.instance == "h/g/p"
    assert OpenQX.active_account() == {"token": TOKEN, "url": URL}
    second = OpenQX.enable_account(TOKEN, URL, transport=transport)
    assert OpenQX.get_provider() is second
    assert provider.backends() and second.backends()  # the first provider keeps working
    OpenQX.disable_account()
    assert OpenQX.active_account() is None
    with pytest.raises(exc.OpenQXAccountCredentialsNotFound):
        OpenQX.disable_account()


def test_enable_account_instance(transport: httpx.MockTransport) -> None:
    assert (
        OpenQX.enable_account(TOKEN, URL, instance="h/g/q", transport=transport).instance == "h/g/q"
    )
    OpenQX.disable_account()
    with pytest.raises(exc.OpenQXAccountError, match="h/g/p"):
        OpenQX.enable_account(TOKEN, URL, instance="x/y/z", transport=transport)


def test_wrong_token(transport: httpx.MockTransport) -> None:
    with pytest.raises(
        exc.OpenQXAccountCredentialsInvalidToken, match="refused the API token"
    ) as info:
        OpenQX.enable_account("wrong", URL, transport=transport)
    assert isinstance(info.value, exc.OpenQXAccountError)
    assert info.value.status_code == 401
    assert "Invalid token." in str(info.value)


def test_wrong_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>not openqx</html>")

    with pytest.raises(exc.OpenQXAccountCredentialsInvalidUrl):
        OpenQX.enable_account(TOKEN, URL, transport=httpx.MockTransport(handler), retries=0)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(exc.OpenQXAccountCredentialsInvalidUrl):
        OpenQX.enable_account(
            TOKEN, URL, transport=httpx.MockTransport(refused), retries=1, backoff_factor=0
        )


@pytest.mark.parametrize("token", ["", "   ", None, 42])
def test_save_account_invalid_token(token: Any) -> None:
    with pytest.raises(exc.OpenQXAccountCredentialsInvalidToken):
        OpenQX.save_account(token, URL)


def test_save_account_invalid_url() -> None:
    with pytest.raises(exc.OpenQXAccountCredentialsInvalidUrl):
        OpenQX.save_account(TOKEN, "ftp://x")


def test_save_load_delete(tmp_path: Path, transport: httpx.MockTransport) -> None:
    OpenQX.save_account(TOKEN, URL)
    path = tmp_path / "config" / "account.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text()) == {"token": TOKEN, "url": URL}
    assert OpenQX.stored_account() == {"token": TOKEN, "url": URL}
    OpenQX.save_account("other", URL)  # no overwrite: kept
    assert OpenQX.stored_account()["token"] == TOKEN
    OpenQX.save_account("other", "http://else", overwrite=True)
    assert OpenQX.stored_account() == {"token": "other", "url": "http://else"}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    OpenQX.save_account(TOKEN, URL, overwrite=True)
    provider = OpenQX.load_account(transport=transport)
    assert provider.api_client.url == URL
    OpenQX.delete_account()
    assert OpenQX.stored_account() == {}
    with pytest.raises(exc.OpenQXAccountCredentialsNotFound):
        OpenQX.delete_account()


def test_env_overrides_file(
    monkeypatch: pytest.MonkeyPatch, transport: httpx.MockTransport
) -> None:
    OpenQX.save_account("stale", "http://stale.example")
    monkeypatch.setenv("OPENQX_TOKEN", TOKEN)
    monkeypatch.setenv("OPENQX_URL", URL)
    provider = OpenQX.load_account(transport=transport)
    assert provider.api_client.token == TOKEN
    assert provider.api_client.url == URL


def test_load_nothing() -> None:
    with pytest.raises(exc.OpenQXAccountCredentialsNotFound):
        OpenQX.load_account()


def test_xdg_config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from openqx.client.account import config_dir

    monkeypatch.delenv("OPENQX_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "openqx"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert config_dir().parts[-2:] == (".config", "openqx")


def test_local_calls_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    module = types.ModuleType("openqx.embedded")
    setattr(module, "start_local", lambda **kwargs: ("started", kwargs))  # noqa: B010
    monkeypatch.setitem(sys.modules, "openqx.embedded", module)
    assert OpenQX.local(port=0) == ("started", {"port": 0})
