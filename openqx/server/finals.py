"""A final job as its status stream's ``job`` event (``wire.JobFinal``): the record and, when
small, the result JSON as stored, sent as it is rather than decoded and re-encoded."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence

from openqx.core.status import JobStatus
from openqx.server.service import Service
from openqx.server.views import job_info
from openqx.store.records import JobRecord

__all__ = ["INLINE_RESULT_MAX_BYTES", "final_json", "final_jsons"]

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
    return final_jsons(service, [record], budget=max_result_bytes)[0]


def final_jsons(
    service: Service, records: Sequence[JobRecord], *, budget: int | None = None
) -> list[tuple[str, int] | None]:
    """``final_json`` of each of ``records``, their results read together: each at most
    ``INLINE_RESULT_MAX_BYTES``, and those inlined at most ``budget`` bytes in all (in
    order; a result that would exceed it goes as ``null``)."""
    most = INLINE_RESULT_MAX_BYTES if budget is None else min(budget, INLINE_RESULT_MAX_BYTES)
    keys = [
        record.result_key
        for record in records
        if record.status is JobStatus.DONE and record.result_key is not None
    ]
    # Missing, empty or damaged results (docs/durability.md) go as null: GET /result says
    # what is wrong with them.
    stored = service.blobs.get_many(keys, max_bytes=most) if keys else {}
    left = budget
    finals: list[tuple[str, int] | None] = []
    for record in records:
        data = stored.get(record.result_key) if record.result_key is not None else None
        result = None
        if data is not None and (left is None or len(data) <= left):
            result = _result_text(data)
        final = _final(record, result)
        if final is not None and left is not None:
            left -= final[1]
        finals.append(final)
    return finals


def _result_text(data: bytes) -> str | None:
    """The stored result as text when it is a JSON object (else None)."""
    try:
        text = data.decode()
        return text if isinstance(json.loads(text), dict) else None
    except ValueError:
        return None


def _final(record: JobRecord, result: str | None) -> tuple[str, int] | None:
    """The ``job`` event's JSON with ``result`` (None: ``null``) and the result's size."""
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
    if result is None:
        return f'{{"job":{info},"result":null}}', 0
    return f'{{"job":{info},"result":{result}}}', len(result)
