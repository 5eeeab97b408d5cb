"""``QueueKnowledge``: a pass reads only the named backends when the queues were known idle
and every job queued since was named; anything unnamed, untrusted or too old reads them all."""

from __future__ import annotations

from openqx.core.clock import ManualClock
from openqx.scheduler.queue_knowledge import QueueKnowledge

POLL_SECONDS = 0.5


def known_idle(clock: ManualClock | None = None) -> QueueKnowledge:
    """Knowledge after one full read that found nothing to claim."""
    knowledge = QueueKnowledge(clock or ManualClock(), POLL_SECONDS)
    first = knowledge.look(trust_names=True)
    assert first.named is None  # nothing known yet: the first pass reads every queue
    knowledge.settle(first, queues_dry=True, held_back=False)
    assert knowledge.idle()
    return knowledge


def test_named_jobs_after_an_idle_read_are_looked_at_alone_until_claimed() -> None:
    knowledge = known_idle()
    knowledge.changed({"a": 2})
    knowledge.changed({"b": 1, "a": 1})
    assert not knowledge.idle()

    look = knowledge.look(trust_names=True)
    assert look.named == {"a": 3, "b": 1}
    assert knowledge.named("a") == 3
    knowledge.claimed("a", 2)
    knowledge.claimed("b", 1)
    knowledge.settle(look, queues_dry=False, held_back=False)
    assert not knowledge.idle()  # one job of "a" is still named and unclaimed
    assert knowledge.look(trust_names=True).named == {"a": 1}


def test_claiming_every_named_job_leaves_the_queues_known_idle() -> None:
    knowledge = known_idle()
    knowledge.changed({"a": 1})
    look = knowledge.look(trust_names=True)
    knowledge.claimed("a", 1)
    knowledge.settle(look, queues_dry=False, held_back=False)
    assert knowledge.idle()
    assert knowledge.look(trust_names=True).named == {}


def test_a_change_without_names_sends_the_next_pass_to_every_queue() -> None:
    knowledge = known_idle()
    knowledge.changed({"a": 1})
    knowledge.changed()  # a requeue: which backend is not said
    knowledge.changed({"b": 1})
    assert knowledge.look(trust_names=True).named is None


def test_a_pass_on_the_timer_reads_every_queue_and_starts_a_new_count() -> None:
    knowledge = known_idle()
    knowledge.changed({"a": 1})
    look = knowledge.look(trust_names=False)
    assert look.named is None
    assert knowledge.named("a") == 0  # the full read sees that job itself


def test_names_are_trusted_for_one_poll_interval_after_a_full_read() -> None:
    clock = ManualClock()
    knowledge = known_idle(clock)
    knowledge.changed({"a": 1})
    clock.advance(POLL_SECONDS)
    assert knowledge.look(trust_names=True).named is None


def test_a_backend_held_back_by_its_limit_keeps_the_queues_not_idle() -> None:
    knowledge = known_idle()
    knowledge.changed({"a": 1})
    look = knowledge.look(trust_names=True)
    knowledge.settle(look, queues_dry=True, held_back=True)
    assert not knowledge.idle()  # a job's end wakes a pass that tries the named job again
    assert knowledge.look(trust_names=True).named == {"a": 1}


def test_a_change_during_a_pass_is_not_taken_as_seen() -> None:
    knowledge = known_idle()
    look = knowledge.look(trust_names=False)
    knowledge.changed({"a": 1})  # lands after the pass began
    knowledge.settle(look, queues_dry=True, held_back=False)
    assert not knowledge.idle()
    assert knowledge.look(trust_names=True).named == {"a": 1}
