"""Hubs, groups and projects for end-to-end tests and benchmarks: a user joins existing
projects only (``POST /admin/users`` answers 404 for a missing one), so a test makes them
first, as an administrator would."""

from __future__ import annotations

from openqx.client.http import ApiClient
from openqx.core import tenancy_wire as tw


def make_project(api: ApiClient, instance: str) -> str:
    """Create the hub, group and project of ``instance`` that do not exist yet (``api``: a
    server administrator's client); return ``instance``."""
    existing = {unit["name"] for unit in api.admin("GET", "/admin/units")}
    parts = instance.split("/")
    for depth in range(1, len(parts) + 1):
        unit = "/".join(parts[:depth])
        if unit not in existing:
            api.admin("POST", "/admin/units", body=tw.UnitCreate(name=unit))
    return instance
