"""Job sets: the jobs of one ``JobManager.run`` carry one tag, ``openqx_jobset_<set id>_``.

The client tags the jobs and reserves the prefix; the server finds a set's jobs by its tag.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["JOB_SET_TAG_PREFIX", "check_user_tags", "job_set_tag"]

JOB_SET_TAG_PREFIX = "openqx_jobset_"
"""Tags with this prefix mark job-set membership; users may not set them."""


def job_set_tag(job_set_id: str) -> str:
    """Return the tag that marks the jobs of set ``job_set_id``."""
    return f"{JOB_SET_TAG_PREFIX}{job_set_id}_"


def check_user_tags(tags: Iterable[object] | None) -> None:
    """Refuse tags a user gives that would claim job-set membership.

    Raises:
        ValueError: a tag starts with ``JOB_SET_TAG_PREFIX``.
    """
    for tag in tags or ():
        if isinstance(tag, str) and tag.startswith(JOB_SET_TAG_PREFIX):
            raise ValueError(
                f"Tags starting with {JOB_SET_TAG_PREFIX!r} are reserved for job sets."
            )
