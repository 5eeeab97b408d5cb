"""The share-level rules of ``core.access`` as SQL conditions over ``jobs``, for listings.

``visible_condition`` is what ``Viewer.can_read`` says for one job, for every job at once:
own jobs, jobs shared with one of the viewer's projects, groups or hubs, ``global`` jobs, and
every job of a unit the viewer administers. A listing ``scope`` picks a part of it: ``own``
(the default, as in the seed), ``shared`` (what others' jobs the viewer may read) or ``all``.
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from openqx.core.access import Role, Viewer
from openqx.core.errors import InvalidFilterError
from openqx.core.status import ACTIVE_STATUSES
from openqx.store.models import Job

__all__ = ["LISTING_SCOPES", "count_active_in", "listing_condition", "visible_condition"]

jobs = cast(sa.Table, Job.__table__)

LISTING_SCOPES = ("own", "shared", "all")
"""``own``: the caller's jobs; ``shared``: others' jobs the caller may read; ``all``: both."""


def _groups(scopes: frozenset[str]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for scope in sorted(scopes):
        hub, group = scope.split("/", 1)
        conditions.append(sa.and_(jobs.c.hub == hub, jobs.c.hub_group == group))
    return conditions


def _others_visible(viewer: Viewer) -> ColumnElement[bool]:
    """Jobs the viewer may read other than by owning them."""
    if viewer.is_server_admin:
        return sa.true()
    shared: list[ColumnElement[bool]] = [jobs.c.share_level == "global"]
    if viewer.projects:
        shared.append(
            sa.and_(jobs.c.share_level == "project", jobs.c.instance.in_(sorted(viewer.projects)))
        )
    if viewer.groups:
        shared.append(sa.and_(jobs.c.share_level == "group", sa.or_(*_groups(viewer.groups))))
    if viewer.hubs:
        shared.append(sa.and_(jobs.c.share_level == "hub", jobs.c.hub.in_(sorted(viewer.hubs))))
    projects = viewer.admin_scopes(Role.PROJECT_ADMIN)
    if projects:
        shared.append(jobs.c.instance.in_(sorted(projects)))
    groups = viewer.admin_scopes(Role.GROUP_ADMIN)
    if groups:
        shared.extend(_groups(groups))
    hubs = viewer.admin_scopes(Role.HUB_ADMIN)
    if hubs:
        shared.append(jobs.c.hub.in_(sorted(hubs)))
    return sa.or_(*shared)


def visible_condition(viewer: Viewer) -> ColumnElement[bool]:
    """Every job the viewer may read."""
    return sa.or_(jobs.c.owner_id == viewer.user_id, _others_visible(viewer))


def listing_condition(viewer: Viewer, scope: str) -> ColumnElement[bool]:
    """The jobs a listing of ``scope`` (``LISTING_SCOPES``) shows the viewer.

    Raises:
        InvalidFilterError: an unknown scope.
    """
    if scope == "own":
        return jobs.c.owner_id == viewer.user_id
    if scope == "shared":
        return sa.and_(jobs.c.owner_id != viewer.user_id, _others_visible(viewer))
    if scope == "all":
        return visible_condition(viewer)
    raise InvalidFilterError(
        f"Unknown listing scope {scope!r}; use one of {', '.join(LISTING_SCOPES)}.",
        field="scope",
    )


def count_active_in(owner_id: int, backend: str, instance: str) -> sa.Select[Any]:
    """Active jobs of one owner on one backend through one instance (the job limit count)."""
    return (
        sa.select(sa.func.count())
        .select_from(jobs)
        .where(
            jobs.c.owner_id == owner_id,
            jobs.c.backend == backend,
            jobs.c.instance == instance,
            jobs.c.status.in_(sorted(s.value for s in ACTIVE_STATUSES)),
        )
    )
