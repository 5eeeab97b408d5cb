"""``JobEvents``: waiters in an event loop woken from other threads; ``watch`` keeps which of
its jobs changed, so that ``POST /jobs/wait`` re-reads only those."""

from __future__ import annotations

import asyncio
import threading

from openqx.server.events import JobEvents, wait_for_event


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
