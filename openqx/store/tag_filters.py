"""How tag filters run: look up the job ids of rare tags first, probe common tags per job.

A listing is ``ORDER BY created_at, id LIMIT n`` over a keyset index. For a tag carried by many
jobs, probing the ``job_tags`` primary key ``(job_id, tag)`` for each job the index walk meets
stops after ``n`` hits; for a rare tag that walk could cross every job of the owner, so the few
matching job ids are read first (an index-only scan of at most ``TAG_COLLECT_LIMIT`` entries)
and the listing becomes ``jobs.id IN (<those ids>)``: primary-key lookups and a top-n sort.
The ids are bound as values rather than left as a subquery so that the planner knows how few
they are; PostgreSQL otherwise estimates a rare tag from its sampled statistics and, when the
sample misses it, walks the owner's whole keyset index testing each job (300+ ms at 1M jobs).
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
    "rare_job_ids",
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

TagJobs = Callable[[Sequence[str]], list[str]]
"""The ids of jobs carrying one of some tags, read up to ``TAG_COLLECT_LIMIT`` rows."""


def tag_job_ids(tags: Sequence[str], cap: int) -> sa.Select[Any]:
    """Job ids of ``job_tags`` rows carrying one of ``tags``, no more than ``cap`` of them
    (an index-only range scan of ``(tag, job_id)``)."""
    return sa.select(job_tags.c.job_id).where(tag_in(tags)).limit(cap)


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


def rare_job_ids(tags: Sequence[str], tag_jobs: TagJobs | None) -> list[str] | None:
    """The ids of jobs carrying one of ``tags`` when fewer than ``TAG_COLLECT_LIMIT`` rows
    carry them (None: common, or not looked up)."""
    if tag_jobs is None:
        return None
    found = tag_jobs(tags)
    return found if len(found) < TAG_COLLECT_LIMIT else None
