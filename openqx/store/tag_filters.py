"""How tag filters run: look up the job ids of rare tags first, probe common tags per job.

A listing is ``ORDER BY created_at, id LIMIT n`` over a keyset index. For a tag carried by many
jobs, probing the ``job_tags`` primary key ``(job_id, tag)`` for each job the index walk meets
stops after ``n`` hits; for a rare tag that walk could cross every job of the owner, so the few
matching job ids are read first (an index range of at most ``TAG_COLLECT_LIMIT`` entries) and
the listing becomes ``jobs.id IN (<those ids>)``: primary-key lookups and a top-n sort.
The ids are bound as values rather than left as a subquery, so that the plan rests on how few
they are and not on PostgreSQL's sampled statistics of ``job_tags.tag``, which a rare tag can
miss (ANALYZE reads a sample; a tag it misses is guessed common).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from openqx.store.models import Job, JobTag

__all__ = [
    "TAG_COLLECT_LIMIT",
    "TagJobs",
    "tag_in",
    "tag_job_ids",
    "tagged_jobs",
]

jobs = cast(sa.Table, Job.__table__)
job_tags = cast(sa.Table, JobTag.__table__)

TAG_COLLECT_LIMIT = 2000
"""A tag filter whose ``job_tags`` rows number fewer than this reads the matching job ids
first; a more common tag is probed per job while the listing walks its keyset index in page
order, which stops after ``limit`` hits."""

TagJobs = Callable[[Sequence[str]], list[str] | None]
"""The ids of jobs carrying one of some tags, or None when ``TAG_COLLECT_LIMIT`` rows or more
carry them (see ``tag_job_ids``)."""


def tag_job_ids(tags: Sequence[str], cap: int) -> sa.Select[Any]:
    """One row: how many ``job_tags`` rows carry one of ``tags`` (counting no further than
    ``cap``) and, when fewer than ``cap``, their job ids joined by commas.

    One round trip either way, and nothing but a number comes back for a common tag. The
    ``ORDER BY tag, job_id`` matches ``ix_job_tags_tag_job``, so the scan is an index range of
    at most ``cap`` entries whatever the planner believes about the tag (PostgreSQL, whose
    sampled statistics may miss a rare tag and guess it common, would otherwise scan the whole
    table hoping to reach ``cap`` early).
    """
    capped = (
        sa.select(job_tags.c.job_id)
        .where(tag_in(tags))
        .order_by(job_tags.c.tag, job_tags.c.job_id)
        .limit(cap)
        .subquery()
    )
    count = sa.func.count()
    ids = sa.case((count < cap, sa.func.aggregate_strings(capped.c.job_id, ",")))
    return sa.select(count, ids).select_from(capped)


def tag_in(tags: Sequence[str]) -> ColumnElement[bool]:
    """``job_tags.tag`` is one of ``tags``."""
    tag = job_tags.c.tag
    return tag == tags[0] if len(tags) == 1 else tag.in_(list(tags))


def tagged_jobs(
    condition: ColumnElement[bool], *, job_ids: Sequence[str] | None = None
) -> ColumnElement[bool]:
    """Jobs with a ``job_tags`` row meeting ``condition`` (a condition on ``job_tags.tag``).

    ``job_ids``: every job meeting ``condition``, read beforehand (rare tags); the result is
    ``jobs.id IN (job_ids)``. Otherwise a correlated ``EXISTS`` probing the ``(job_id, tag)``
    primary key for each job the listing walks; ``OFFSET 0`` keeps PostgreSQL from turning it
    into a hashed subplan or a semi-join that would read every matching row first (it does so
    for an ``EXISTS`` under ``OR``).
    """
    if job_ids is not None:
        unique = list(dict.fromkeys(job_ids))
        return sa.false() if not unique else jobs.c.id.in_(unique)
    probe = (
        sa.select(job_tags.c.job_id)
        .where(job_tags.c.job_id == jobs.c.id, condition)
        .offset(0)
        .correlate(jobs)
    )
    return probe.exists()
