"""The stored account: ``account.json`` in the config folder, readable by its owner only.

``OpenQX.save_account`` writes it and ``load_account`` reads it (``openqx.client.account``);
``openqx login`` saves it and ``openqx admin`` reads its URL, token and connection settings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openqx.connection.failures import InvalidAccountFile

__all__ = [
    "ACCOUNT_FILE",
    "STORED_CONNECTION",
    "account_path",
    "config_dir",
    "read_account",
    "stored_connection",
    "write_account",
]

ACCOUNT_FILE = "account.json"
"""Name of the credentials file in the config folder."""
STORED_CONNECTION = ("proxies", "verify")
"""The connection settings (``ServerSession`` options) an account may store beside its token,
URL and instance."""


def config_dir() -> Path:
    """Return the folder that holds ``account.json``: ``OPENQX_CONFIG_DIR``, else
    ``$XDG_CONFIG_HOME/openqx``, else ``~/.config/openqx``."""
    explicit = os.environ.get("OPENQX_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "openqx"


def account_path() -> Path:
    """Return the path of the stored account."""
    return config_dir() / ACCOUNT_FILE


def read_account() -> dict[str, Any]:
    """Return the stored account (a JSON object with a ``token`` string), or ``{}``.

    Raises:
        InvalidAccountFile: the file cannot be read, or is not such an object.
    """
    path = account_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InvalidAccountFile(f"Unable to read the stored account {path}: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("token", ""), str):
        raise InvalidAccountFile(
            f"The stored account {path} is not valid: it needs to be a JSON object with a "
            "'token' string."
        )
    return data


def stored_connection(account: Mapping[str, Any]) -> dict[str, Any]:
    """The connection settings ``account`` (as ``read_account`` returns it) stores."""
    return {key: account[key] for key in STORED_CONNECTION if key in account}


def write_account(data: dict[str, Any]) -> None:
    """Store ``data`` as the account: mode 0600 in a folder of mode 0700, replaced at once
    (written to a temporary file first), so a reader never sees half a file."""
    path = account_path()
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
