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


async def test_urgent_writers_go_first_and_a_cancelled_waiter_passes_the_lock_on() -> None:
    from justtrades.execution.records import PriorityLock

    lock = PriorityLock()
    order: list[str] = []

    async def writer(name: str, urgent: bool) -> None:
        await lock.acquire(urgent)
        order.append(name)
        await asyncio.sleep(0)
        lock.release()

    await lock.acquire(False)
    tasks = [
        asyncio.create_task(writer("n1", False)),
        asyncio.create_task(writer("n2", False)),
        asyncio.create_task(writer("u1", True)),
    ]
    cancelled = asyncio.create_task(writer("gone", True))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["u1", "n1", "n2"]
    await asyncio.wait_for(lock.acquire(False), 1)  # nothing left holding it


async def test_a_waiter_cancelled_while_the_lock_is_released_stays_cancelled() -> None:
    from justtrades.execution.records import PriorityLock

    lock = PriorityLock()
    await lock.acquire(False)
    waiter = asyncio.create_task(lock.acquire(True))
    await asyncio.sleep(0)
    waiter.cancel()
    lock.release()  # in the same tick: release() drops the cancelled waiter
    results = await asyncio.gather(waiter, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    await asyncio.wait_for(lock.acquire(False), 1)
