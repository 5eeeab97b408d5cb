"""``JobEvents``: waiters in an event loop woken from other threads; ``watch`` keeps which of
its jobs changed, so that ``POST /jobs/wait`` re-reads only those, and the jobs as this process
wrote them, so that nobody reads them back; ``close`` ends every wait (a server shutting
down); ``wait_watchers`` lets a thread outside the loop wait for a watch to open or end."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from openqx.core.status import JobStatus
from openqx.server.events import Changes, JobEvents, Recorded, wait_for_event
from openqx.store.records import JobRecord


def test_subscribe_is_woken_from_another_thread_by_any_of_its_jobs() -> None:
    events = JobEvents()

    async def scenario() -> tuple[bool, bool]:
        with events.subscribe("a", "b") as changed:
            quiet = await wait_for_event(changed, 0.01)  # nothing notified yet
            threading.Thread(target=events.notify, args=("b",)).start()
            woken = await wait_for_event(changed, 30)
        return quiet, woken

    assert asyncio.run(scenario()) == (False, True)


def test_watch_keeps_the_ids_notified_until_taken() -> None:
    events = JobEvents()

    async def scenario() -> list[set[str]]:
        with events.watch("a", "b", "c") as changes:

            def notify_some() -> None:
                for job_id in ("c", "x", "a", "c"):
                    events.notify(job_id)

            notifier = threading.Thread(target=notify_some)
            notifier.start()
            notifier.join()
            assert await wait_for_event(changes.event, 30)
            await asyncio.sleep(0)  # the marks scheduled from the thread run in the loop
            while not {"a", "c"} <= changes._ids:  # every mark lands, in order, soon
                await asyncio.sleep(0)
            first = changes.take()
            cleared = not changes.event.is_set()
            second = changes.take()
            assert cleared
        return [first, second]

    # "x" is not watched; "c" twice is one change; a take empties the set and the event
    assert asyncio.run(scenario()) == [{"a", "c"}, set()]


def test_waiters_are_forgotten_when_their_block_ends() -> None:
    events = JobEvents()

    async def scenario() -> None:
        with events.watch("a"), events.subscribe("a", "b"):
            assert set(events._waiters) == {"a", "b"}
        assert events._waiters == {}

    asyncio.run(scenario())
    events.notify("a")  # nobody waits: nothing happens, nothing fails


def test_wait_watchers_returns_when_a_watch_opens_and_when_it_ends() -> None:
    events = JobEvents()
    opened, seen = threading.Event(), []

    def waiter() -> None:
        seen.append(events.wait_watchers("a", 1, 30))
        opened.set()
        seen.append(events.wait_watchers("a", 0, 30))

    thread = threading.Thread(target=waiter)
    thread.start()

    async def scenario() -> None:
        with events.watch("a"):  # the waiter sees the watch open while it is open
            assert await asyncio.to_thread(opened.wait, 30)
        # the block's end wakes the waiter's second wait

    asyncio.run(scenario())
    thread.join(30)
    assert not thread.is_alive()
    assert seen == [1, 0]


def test_wait_watchers_gives_the_count_it_has_when_the_time_runs_out() -> None:
    events = JobEvents()

    async def scenario() -> int:
        with events.watch("a"), events.subscribe("a"):
            return await asyncio.to_thread(events.wait_watchers, "a", 1, 0.01)

    assert asyncio.run(scenario()) == 2


def _record(job_id: str, status: JobStatus) -> JobRecord:
    at = datetime(2026, 12, 2, tzinfo=UTC)
    return JobRecord(
        id=job_id, kind="circuits", backend="b", status=status, owner_id=1, owner="alice",
        instance="h/g/p", name=None, tags=(), share_level="none", experiment_id=None,
        program_id=None, created_at=at, updated_at=at, time_per_step={}, num_circuits=1,
        shots=10, memory=False, header={}, options={}, snapshot_id=None,
        payload_key=f"jobs/{job_id}/payload.qpy", result_key=None, error_code=None,
        error_message=None, run_mode=None, live_data_enabled=None, client_info={},
        cancel_requested=False, lease_owner=None, lease_expires_at=None, started_at=None,
        finished_at=None, priority=0, attempts=0,
    )  # fmt: skip


def test_a_change_with_its_record_is_kept_until_a_change_without_one() -> None:
    changes = Changes()

    async def scenario() -> None:
        running = Recorded(_record("a", JobStatus.RUNNING))
        changes.mark("a", running)
        assert changes.recorded == {"a": running} and changes.event.is_set()
        changes.mark("a")  # a change this process did not describe: the job must be read
        assert changes.recorded == {}
        done = Recorded(_record("a", JobStatus.DONE), b"{}")
        changes.mark("a", done)
        changes.mark("a", running)  # a start's mark arriving after the end's (other thread)
        assert changes.recorded == {"a": done}
        assert changes.take() == {"a"} and changes.recorded == {"a": done}  # kept until read

    asyncio.run(scenario())


def test_close_ends_every_wait() -> None:
    events = JobEvents()

    async def scenario() -> tuple[bool, bool]:
        with events.watch("a") as changes:
            threading.Thread(target=events.close).start()
            woken = await wait_for_event(changes.event, 30)
        return woken, events.closing

    assert asyncio.run(scenario()) == (True, True)
