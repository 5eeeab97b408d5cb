"""Job sets: the jobs of one ``JobManager.run`` carry one tag, ``openqx_jobset_<set id>_``.

The client tags the jobs and reserves the prefix; the server finds a set's jobs by its tag.
"""

from __future__ import annotations

__all__ = ["JOB_SET_TAG_PREFIX", "job_set_tag"]

JOB_SET_TAG_PREFIX = "openqx_jobset_"
"""Tags with this prefix mark job-set membership; users may not set them."""


def job_set_tag(job_set_id: str) -> str:
    """Return the tag that marks the jobs of set ``job_set_id``."""
    return f"{JOB_SET_TAG_PREFIX}{job_set_id}_"
