"""openqx.scheduler."""

from __future__ import annotations

__all__: list[str] = []
