"""The call log of one execution, kept in the signal store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from justtrades.clock import Clock
from justtrades.execution.store import CallRecord, ExecutionRecord, SignalStore


class StoreCallLog:
    """Every broker call of one execution. An order-changing call is written before it is made
    and completed after; a read changes nothing at the broker, so it is written once, when done,
    with the writes that follow it (never an extra round trip before an order).

    The execution's own row is written with its first write-ahead record, in the same commit
    (one commit before the first order, not two in a row); the reads before it follow, and the
    signal's `executing` mark. An execution that takes longer to get there (a slow read, a
    retry, a cooldown) shows sooner: its row and the mark are written SHOW_AFTER_SECS after
    its lane turn, or as soon as it waits, and its first order's record then follows that
    row. An execution that sends no order is written at the latest as it ends. Until its row
    is written nothing of it is in the database, which is what a restart would find of a
    trader that only read: it runs again (and a restart reads a signal with executions as
    executing whatever its mark says: settle.py, recovery.py)."""

    SHOW_AFTER_SECS = 0.05  # real time: how soon a status shows, not a trading rule

    def __init__(
        self,
        store: SignalStore,
        clock: Clock,
        execution: ExecutionRecord,
        signal_timings: dict[str, Any],
        on_order: Callable[[], None] | None = None,
        on_answer: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.execution = execution
        self.signal_timings = signal_timings  # the signal's, written with its `executing` mark
        self.on_order = on_order  # told when an order request is recorded and about to be sent
        self.on_answer = on_answer  # told when an order request's acknowledgement is recorded
        self._reads: list[CallRecord] = []  # finished reads, until the execution's row exists
        self._first = asyncio.Lock()
        self._marked = False
        self._timer: asyncio.TimerHandle | None = None
        self._showing: asyncio.Task[int] | None = None  # the row written ahead of any order
        self._net: int | None = None  # the position last read

    # --- showing the execution before its first order -------------------------------------

    def show_soon(self) -> None:
        """At the lane turn: the row and the mark written SHOW_AFTER_SECS from now unless
        written before."""
        self._timer = asyncio.get_running_loop().call_later(self.SHOW_AFTER_SECS, self.show)

    def show(self) -> None:
        """The execution's row (with the reads so far) and the signal's mark written now,
        nobody waiting: a trader that waits is seen running."""
        self.close()
        if self.execution.id is not None or self._showing is not None or self._first.locked():
            return
        reads, self._reads = self._reads, []
        mark = self._mark()
        self._showing = asyncio.ensure_future(self.store.add_execution(self.execution, reads, mark))

        def done(task: asyncio.Task[int]) -> None:
            if task.cancelled() or task.exception() is not None:
                # Not written (as far as is known): the next write takes them again.
                self._reads[:0] = reads
                self._marked = self._marked and mark is None

        self._showing.add_done_callback(done)

    def close(self) -> None:
        """No more showing to come (the execution is written, over, or cut off)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _mark(self) -> dict[str, Any] | None:
        """The signal's timings for its `executing` mark, the first time only."""
        if self._marked:
            return None
        self._marked = True
        return dict(self.signal_timings)

    async def _written(self) -> bool:
        """Whether the row is in the database (waiting for its showing write, if any)."""
        if self.execution.id is None and self._showing is not None:
            try:
                await asyncio.shield(self._showing)
            except Exception:
                self._showing = None  # not written: the next write tries again
        if self.execution.id is not None:
            self._flush()
            return True
        return False

    def _flush(self) -> None:
        reads, self._reads = self._reads, []
        for read in reads:
            read.execution_id = self.execution.id or 0
            self.store.add_read(read)

    # --- the calls ----------------------------------------------------------------------------

    async def started(
        self, seq: int, endpoint: str, client_order_id: str | None, request: dict[str, Any]
    ) -> int:
        if endpoint == "flatten" and self._net is not None:
            # What it closes, on its own record: a restart judges a flatten whose answer was
            # lost from it (the read before it may be written after this record).
            request = {**request, "net_pos_before": self._net}
        call = CallRecord(
            execution_id=self.execution.id or 0,
            seq=seq,
            endpoint=endpoint,
            client_order_id=client_order_id,
            request=request,
            outcome="sent",
            started_at=self.clock.now(),
        )
        async with self._first:
            self.close()
            if await self._written():
                call.execution_id = self.execution.id or 0
                call_id = await self.store.add_call(call)
            else:
                await self.store.add_execution(self.execution, [call])
                assert call.id is not None
                call_id = call.id
                # The reads before it and the signal's mark follow the order's record, not in
                # its commit: fewer statements before the order leaves.
                self._flush()
                timings = self._mark()
                if timings is not None:
                    self.store.mark_executing(self.execution.signal_id, timings)
        if self.on_order is not None:
            self.on_order()
        return call_id

    async def read(
        self,
        seq: int,
        endpoint: str,
        request: dict[str, Any],
        outcome: str,
        response: dict[str, Any] | None,
        error: str | None,
        latency_ms: float,
    ) -> None:
        now = self.clock.now()
        if endpoint == "get_position" and outcome == "ok" and response is not None:
            net = response.get("net_pos")
            self._net = net if isinstance(net, int) else self._net
        call = CallRecord(
            execution_id=self.execution.id or 0,
            seq=seq,
            endpoint=endpoint,
            request=request,
            response=response,
            outcome=outcome,
            error=error,
            latency_ms=round(latency_ms, 3),
            started_at=now - timedelta(milliseconds=latency_ms),
            finished_at=now,
        )
        self._reads.append(call)
        if self.execution.id is not None:
            self._flush()

    async def finished(
        self,
        call_id: int,
        outcome: str,
        response: dict[str, Any] | None,
        error: str | None,
        latency_ms: float,
    ) -> None:
        if self.on_answer is not None and outcome == "ok":
            self.on_answer()
        await self.store.finish_call(
            call_id, outcome, response, error, round(latency_ms, 3), self.clock.now()
        )

    async def end(
        self,
        status: str,
        plan: dict[str, Any] | None,
        result: str | None,
        error: str | None,
        timings: dict[str, Any] | None,
        finished_at: datetime,
    ) -> None:
        """The execution's end: its row updated, or (never written) written whole with its
        reads and its signal's `executing` mark."""
        self.close()
        async with self._first:
            if await self._written():
                assert self.execution.id is not None
                await self.store.finish_execution(
                    self.execution.id, status, plan, result, error, timings, finished_at
                )
                return
            row = self.execution
            row.status, row.plan, row.result, row.error = status, plan, result, error
            row.timings, row.finished_at = (dict(timings) if timings else None), finished_at
            reads, self._reads = self._reads, []
            await self.store.add_execution(row, reads, self._mark())
