"""The job manager's pieces: ``ManagedJobSet``, ``ManagedJob`` and ``ManagedResults``."""

from __future__ import annotations

from openqx.client.managed.job_set import ManagedJobSet
from openqx.client.managed.managed_job import ManagedJob
from openqx.client.managed.results import ManagedResults

__all__ = ["ManagedJob", "ManagedJobSet", "ManagedResults"]
