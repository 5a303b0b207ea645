"""The call log of one execution (execution/records.py) on the in-memory store: what is
written when, so that the first order waits for one commit, and a trader that waits is seen."""

from __future__ import annotations

import asyncio
from typing import Any

from justtrades.clock import FakeClock
from justtrades.execution.records import StoreCallLog
from justtrades.execution.store import CallRecord, ExecutionRecord, MemoryStore
from justtrades.models import Signal


class CountingStore(MemoryStore):
    """Says which writes were made, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    async def add_execution(
        self,
        row: ExecutionRecord,
        calls: Any = (),
        signal_timings: dict[str, Any] | None = None,
    ) -> int:
        self.log.append(f"execution+{len(calls)}" + ("+mark" if signal_timings else ""))
        return await super().add_execution(row, calls, signal_timings)

    def add_read(self, row: CallRecord) -> None:
        self.log.append("read")
        super().add_read(row)

    def mark_executing(self, signal_id: int, signal_timings: dict[str, Any]) -> None:
        self.log.append("mark")
        super().mark_executing(signal_id, signal_timings)

    async def add_call(self, row: CallRecord) -> int:
        self.log.append("call")
        return await super().add_call(row)


async def a_log() -> tuple[CountingStore, StoreCallLog, Signal]:
    clock = FakeClock()
    store = CountingStore()
    signal = Signal(user_id=1, strategy_id=1, received_at=clock.now(), body="b", body_hash="h")
    signal.status = "accepted"
    await store.add_signal(signal)
    assert signal.id is not None
    row = ExecutionRecord(signal.id, 1, 1, "MNQZ6", "running", clock.now())
    return store, StoreCallLog(store, clock, row, {"queued_ms": 1.0}), signal


async def read(log: StoreCallLog, seq: int, net: int) -> None:
    await log.read(seq, "get_position", {}, "ok", {"net_pos": net, "avg_price": "0"}, None, 1.0)


async def test_the_first_order_record_is_one_write_with_its_execution_then_the_reads() -> None:
    store, log, signal = await a_log()
    await read(log, 1, 2)
    assert store.log == [] and store.executions == {}  # nothing before the first order
    call_id = await log.started(2, "flatten", None, {"symbol": "MNQZ6"})
    assert store.log == ["execution+1", "read", "mark"]  # the order waited for one write
    assert signal.status == "executing"
    call = store.calls[call_id]
    assert call.request == {"symbol": "MNQZ6", "net_pos_before": 2}  # what it closes
    await log.started(3, "place_bracket", "jt-1", {})
    assert store.log[-1] == "call"
    await log.end("done", {}, "ok", None, None, log.clock.now())
    [execution] = store.executions.values()
    assert execution.status == "done"
    assert [c.seq for c in store.calls_of(execution.id or 0)] == [1, 2, 3]


async def test_an_execution_without_orders_is_written_once_as_it_ends() -> None:
    store, log, signal = await a_log()
    await read(log, 1, 0)
    await log.end("done", None, "flat: nothing to close", None, {"lane_ms": 1.0}, log.clock.now())
    assert store.log == ["execution+1+mark"]
    [execution] = store.executions.values()
    assert execution.status == "done" and execution.timings == {"lane_ms": 1.0}
    assert signal.status == "executing"  # then ended by the dispatcher


async def test_a_trader_that_waits_is_seen_running_and_its_order_follows_that_row() -> None:
    store, log, signal = await a_log()
    await read(log, 1, 0)
    log.show()  # it waits (a retry, a cooldown)
    await asyncio.sleep(0)
    assert store.log == ["execution+1+mark"] and signal.status == "executing"
    [execution] = store.executions.values()
    assert execution.status == "running"
    await log.started(2, "place_bracket", "jt-1", {})
    assert store.log == ["execution+1+mark", "call"]  # no second row, no second mark


async def test_a_slow_lane_turn_shows_after_a_moment_unless_an_order_came_first() -> None:
    store, log, _ = await a_log()
    log.SHOW_AFTER_SECS = 0.01
    log.show_soon()
    await asyncio.sleep(0.05)
    assert store.log == ["execution+0+mark"]
    store2, quick, _ = await a_log()
    quick.SHOW_AFTER_SECS = 0.01
    quick.show_soon()
    await quick.started(1, "place_bracket", "jt-1", {})
    await asyncio.sleep(0.05)
    assert store2.log == ["execution+1", "mark"]  # the timer was cancelled by the order
