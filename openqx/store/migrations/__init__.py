"""Alembic migrations of the openqx schema (run them with ``Database.upgrade()``)."""

from __future__ import annotations

__all__: list[str] = []
