"""Intake pieces: arrival order of the queue, the dedup window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from justtrades.execution.intake import Deduper, SignalJob, SignalQueue
from justtrades.execution.signal import Action, SignalIntent


def job(i: int) -> SignalJob:
    return SignalJob(i, 1, datetime(2026, 11, 27, tzinfo=UTC), SignalIntent(action=Action.BUY))


async def test_the_queue_keeps_arrival_order_when_writes_finish_out_of_order() -> None:
    queue = SignalQueue()
    first, second, third = queue.reserve(), queue.reserve(), queue.reserve()
    third.set_result(job(3))
    second.set_result(None)  # its INSERT failed: the place is given up
    got = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not got.done()  # the first arrival is not written yet: nothing overtakes it
    first.set_result(job(1))
    assert (await got).signal_id == 1
    assert (await queue.get()).signal_id == 3
    assert queue.qsize() == 0


def test_the_dedup_window_is_bounded_by_time_and_count() -> None:
    d = Deduper(window_secs=30, max_entries=2)
    d.add(1, "a", 0.0, 10)
    assert d.check(1, "a", 29.0) == 10
    assert d.check(1, "a", 31.0) is None
    d.add(1, "b", 40.0, 11)
    d.add(1, "c", 41.0, 12)
    d.add(1, "d", 42.0, 13)
    assert d.check(1, "b", 42.0) is None  # the oldest left when the count was exceeded
    assert d.check(1, "d", 42.0) == 13
    d.forget(1, "d")
    assert d.check(1, "d", 42.0) is None
