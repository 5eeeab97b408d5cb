"""openqx: a self-hosted quantum computing service with an IBM-Quantum-style provider.

``from openqx import OpenQX`` gives the account factory; the rest of the client lives in
``openqx.client`` and is re-exported here lazily, so ``import openqx`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["OpenQX", "__version__"]


def __getattr__(name: str) -> Any:
    import openqx.client as client

    try:
        return getattr(client, name)
    except AttributeError:
        raise AttributeError(f"module 'openqx' has no attribute {name!r}") from None
