"""Persistence: SQLAlchemy models, named queries, Alembic migrations and the blob store."""

from __future__ import annotations

__all__: list[str] = []
