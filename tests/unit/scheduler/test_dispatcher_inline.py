"""The dispatcher with a real executor (``InlineExecutor``): a circuit job runs to DONE."""

from __future__ import annotations

import json
import threading

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.execution.inline import InlineExecutor
from openqx.scheduler.dispatcher import Dispatcher
from openqx.store.blobs import MemoryBlobStore
from openqx.store.memory_store import MemoryJobStore
from tests.unit.execution.helpers import ghz, qpy_bytes

from .conftest import SubmitJob
from .fakes import WAIT_S


def test_a_circuit_job_runs_on_the_inline_executor_and_ends_done(
    store: MemoryJobStore, blobs: MemoryBlobStore, clock: ManualClock, submit: SubmitJob
) -> None:
    job = submit(backend="simulator_statevector", shots=64)
    blobs.put(job.payload_key, qpy_bytes([ghz(3)]))
    final = threading.Event()

    def on_change(job_id: str) -> None:
        if store.get_job(job_id).status.is_final:
            final.set()

    with InlineExecutor(1) as executor:
        dispatcher = Dispatcher(
            store, blobs, executor, capacity=1, on_change=on_change, clock=clock
        )
        dispatcher.run_once()
        assert final.wait(WAIT_S)
        dispatcher.stop(timeout=0)

    done = store.get_job(job.id)
    assert done.status is JobStatus.DONE
    assert done.result_key is not None
    counts = json.loads(blobs.get(done.result_key))["results"][0]["data"]["counts"]
    assert set(counts) <= {"0x0", "0x7"} and sum(counts.values()) == 64
