"""A final job as its status stream's ``job`` event (``wire.JobFinal``): the record and, when
small, the result JSON as stored, sent as it is rather than decoded and re-encoded."""

from __future__ import annotations

import dataclasses
import json
import logging

from openqx.core import errors
from openqx.core.status import JobStatus
from openqx.server.service import Service
from openqx.server.views import job_info
from openqx.store.records import JobRecord

__all__ = ["INLINE_RESULT_MAX_BYTES", "final_json"]

logger = logging.getLogger(__name__)

INLINE_RESULT_MAX_BYTES = 256 * 1024
"""A DONE job's result up to this size rides with its record (the final ``job`` event of its
status stream, ``POST /jobs/wait``), so a waiting client needs no second request; larger ones
are fetched from ``GET /jobs/{id}/result``."""


def final_json(
    service: Service, record: JobRecord, *, max_result_bytes: int | None = None
) -> tuple[str, int] | None:
    """``{"job": <record>, "result": <result or null>}`` of a final job and the bytes of
    result it holds: the result when DONE and at most ``max_result_bytes`` (default
    ``INLINE_RESULT_MAX_BYTES``), else ``null``. None when the record cannot be encoded."""
    if max_result_bytes is None:
        max_result_bytes = INLINE_RESULT_MAX_BYTES
    result, size = "null", 0
    if record.status is JobStatus.DONE and record.result_key is not None:
        try:
            if service.blobs.size(record.result_key) <= max_result_bytes:
                text = service.blobs.get(record.result_key).decode()
                if isinstance(json.loads(text), dict):
                    result, size = text, len(text)
        except (errors.NotFoundError, ValueError):
            # Missing, empty or damaged (docs/durability.md): GET /result says what it is.
            pass
    try:
        info = job_info(record).model_dump_json()
    except (ValueError, RecursionError):
        # A header nested deeper than the API accepts, stored before the limits: the record
        # goes without it, so that a waiting client still learns that the job has ended.
        logger.warning("final job record sent without its header", extra={"job_id": record.id})
        try:
            info = job_info(dataclasses.replace(record, header={})).model_dump_json()
        except (ValueError, RecursionError):
            logger.warning("final job record not sent", extra={"job_id": record.id})
            return None
    return f'{{"job":{info},"result":{result}}}', size
