"""Instances (``hub/group/project``): the scope jobs are filed under."""

from __future__ import annotations

__all__ = ["DEFAULT_INSTANCE"]

DEFAULT_INSTANCE = "openqx/main/default"
"""The instance of the first admin, and of users created without one."""
