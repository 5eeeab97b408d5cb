"""How tag filters run: collect the job ids of rare tags, probe common tags per job.

A listing is ``ORDER BY created_at, id LIMIT n`` over a keyset index. For a tag carried by many
jobs, probing the ``job_tags`` primary key ``(job_id, tag)`` for each job the index walk meets
stops after ``n`` hits; for a rare tag that walk could cross every job of the owner, so the few
matching job ids are collected first instead. ``count_tag_rows`` (an index-only scan of at most
``TAG_COLLECT_LIMIT`` entries) tells the two apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from openqx.store.models import Job, JobTag

__all__ = [
    "TAG_COLLECT_LIMIT",
    "TagRows",
    "count_tag_rows",
    "rare_count",
    "tag_in",
    "tagged_jobs",
]

jobs = cast(sa.Table, Job.__table__)
job_tags = cast(sa.Table, JobTag.__table__)

TAG_COLLECT_LIMIT = 2000
"""A tag filter whose ``job_tags`` rows number fewer than this collects the matching job ids
first (few rows, then sorted); a more common tag is probed per job while the listing walks its
keyset index in page order, which stops after ``limit`` hits."""

TagRows = Callable[[Sequence[str]], int]
"""``job_tags`` rows carrying one of some tags, counted up to ``TAG_COLLECT_LIMIT``."""


def count_tag_rows(tags: Sequence[str], cap: int) -> sa.Select[Any]:
    """How many ``job_tags`` rows carry one of ``tags``, counting no further than ``cap``
    (an index-only range scan of at most ``cap`` entries)."""
    capped = (
        sa.select(sa.literal(1).label("one"))
        .select_from(job_tags)
        .where(tag_in(tags))
        .limit(cap)
        .subquery()
    )
    return sa.select(sa.func.count()).select_from(capped)


def tag_in(tags: Sequence[str]) -> ColumnElement[bool]:
    """``job_tags.tag`` is one of ``tags``."""
    tag = job_tags.c.tag
    return tag == tags[0] if len(tags) == 1 else tag.in_(list(tags))


def tagged_jobs(condition: ColumnElement[bool], *, collect: bool) -> ColumnElement[bool]:
    """Jobs with a ``job_tags`` row meeting ``condition`` (a condition on ``job_tags.tag``).

    ``collect``: ``jobs.id IN (matching job ids)``, for rare tags. Otherwise a correlated
    ``EXISTS`` probing the ``(job_id, tag)`` primary key for each job the listing walks;
    ``OFFSET 0`` keeps PostgreSQL from turning it into a hashed subplan or a semi-join that
    would read every matching row first (it does so for an ``EXISTS`` under ``OR``).
    """
    if collect:
        return jobs.c.id.in_(sa.select(job_tags.c.job_id).where(condition))
    probe = (
        sa.select(job_tags.c.job_id)
        .where(job_tags.c.job_id == jobs.c.id, condition)
        .offset(0)
        .correlate(jobs)
    )
    return probe.exists()


def rare_count(tags: Sequence[str], tag_rows: TagRows | None) -> int | None:
    """The ``job_tags`` rows of ``tags`` when fewer than ``TAG_COLLECT_LIMIT`` (None: common,
    or not counted)."""
    if tag_rows is None:
        return None
    count = tag_rows(tags)
    return count if count < TAG_COLLECT_LIMIT else None
