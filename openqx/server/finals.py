"""A final job as its status stream's ``job`` event (``wire.JobFinal``): the record and, when
small, the result JSON as stored, sent as it is rather than decoded and re-encoded."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence

from openqx.core.status import JobStatus
from openqx.server.events import Recorded
from openqx.server.service import Service
from openqx.server.views import job_info
from openqx.store.records import JobRecord

__all__ = ["INLINE_RESULT_MAX_BYTES", "final_json", "final_jsons", "recorded_json"]

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


def recorded_json(ended: Recorded) -> tuple[str, int] | None:
    """``final_json`` of a job this process has just ended, from the record and result the
    dispatcher stored (``events.Recorded``), neither read back."""
    return _finals([ended.record], {ended.record.id: ended.result}, None)[0]


def final_jsons(
    service: Service,
    records: Sequence[JobRecord],
    *,
    budget: int | None = None,
    ended: Mapping[str, bytes | None] | None = None,
) -> list[tuple[str, int] | None]:
    """``final_json`` of each of ``records``, their results read together: each at most
    ``INLINE_RESULT_MAX_BYTES``, and those inlined at most ``budget`` bytes in all (in
    order; a result that would exceed it goes as ``null``). ``ended``: the results of jobs
    this process has just ended (``events.Recorded``) by id, taken as they are, not read."""
    most = _most(budget)
    given = ended or {}
    keys = [
        record.result_key
        for record in records
        if record.id not in given and _inlined(record) and record.result_key is not None
    ]
    # Missing, empty or damaged results (docs/durability.md) go as null: GET /result says
    # what is wrong with them.
    stored = service.blobs.get_many(keys, max_bytes=most) if keys else {}
    texts: dict[str, bytes | None] = dict(given)
    for record in records:
        if record.id not in given and record.result_key is not None:
            data = stored.get(record.result_key)
            texts[record.id] = data if data is not None and _result_text(data) else None
    return _finals(records, texts, budget)


def _most(budget: int | None) -> int:
    return INLINE_RESULT_MAX_BYTES if budget is None else min(budget, INLINE_RESULT_MAX_BYTES)


def _inlined(record: JobRecord) -> bool:
    """Whether the record's result may ride with it: DONE, with a result."""
    return record.status is JobStatus.DONE and record.result_key is not None


def _finals(
    records: Sequence[JobRecord], results: Mapping[str, bytes | None], budget: int | None
) -> list[tuple[str, int] | None]:
    """The ``job`` events' JSON of ``records`` with ``results`` (JSON objects, by job id)
    inlined where ``_inlined`` allows, each at most ``INLINE_RESULT_MAX_BYTES`` and at most
    ``budget`` bytes in all."""
    most = _most(budget)
    left = budget
    finals: list[tuple[str, int] | None] = []
    for record in records:
        data = results.get(record.id) if _inlined(record) else None
        result = None
        if data is not None and len(data) <= most and (left is None or len(data) <= left):
            result = data.decode()
        final = _final(record, result)
        if final is not None and left is not None:
            left -= final[1]
        finals.append(final)
    return finals


def _result_text(data: bytes) -> bool:
    """Whether the stored result is a JSON object."""
    try:
        return isinstance(json.loads(data.decode()), dict)
    except ValueError:
        return False


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
