"""Execution and broker-call records in the database."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from justtrades.clock import Clock
from justtrades.models import BrokerCall, Execution, Signal

if TYPE_CHECKING:
    from justtrades.execution.runner import TraderJob

Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class PriorityLock:
    """A lock whose urgent waiters go before the others (FIFO within each class)."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    async def acquire(self, urgent: bool) -> None:
        if not self._held and not self._urgent and not self._normal:
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._normal).append(waiter)
        try:
            await waiter  # ownership is handed over by release()
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):  # release() may have dropped it already
                    (self._urgent if urgent else self._normal).remove(waiter)
            raise

    def release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # stays held, now by that waiter
                    return
        self._held = False


class WriteSessions:
    """Sessions for the engine's writes. SQLite has one writer at a time and makes a waiting
    writer sleep and poll (busy timeout); queuing the writers on a lock instead keeps the
    fan-out's latency flat, and the webhook's INSERT (urgent) goes before execution records.
    PostgreSQL writes are not serialized."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], serialize: bool) -> None:
        self.sessions = sessions
        self._lock = PriorityLock() if serialize else None

    @asynccontextmanager
    async def __call__(self, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        if self._lock is None:
            async with self.sessions() as s:
                yield s
            return
        await self._lock.acquire(urgent)
        try:
            async with self.sessions() as s:
                yield s
        finally:
            self._lock.release()


async def start_executions(
    sessions: Sessions,
    clock: Clock,
    signal_id: int,
    jobs: Sequence[TraderJob],
    timings: dict[str, float] | None = None,
) -> list[int]:
    """In one transaction: the signal becomes `executing` and every trader gets its execution
    row, before any broker call."""
    now = clock.now()
    rows = [
        Execution(
            signal_id=signal_id,
            trader_id=tj.trader_id,
            account_id=tj.account_id,
            symbol=tj.contract.name if tj.contract else None,
            status="running",
            created_at=now,
        )
        for tj in jobs
    ]
    async with sessions() as s:
        signal = await s.get(Signal, signal_id)
        if signal is not None:
            signal.status = "executing"
            if timings:
                signal.timings = dict(timings)
        s.add_all(rows)
        await s.commit()
    ids = [row.id for row in rows]
    assert all(i is not None for i in ids)
    return [i for i in ids if i is not None]


async def finish_execution(
    sessions: Sessions,
    clock: Clock,
    execution_id: int,
    status: str,
    plan: dict[str, Any] | None,
    result: str | None,
    error: str | None,
    timings: dict[str, float] | None = None,
) -> None:
    async with sessions() as s:
        row = await s.get(Execution, execution_id)
        if row is None:
            return
        row.status, row.result, row.error = status, result, error
        if timings:
            row.timings = dict(timings)
        if plan is not None:
            row.plan = plan
        row.finished_at = clock.now()
        await s.commit()


class DbCallLog:
    """Every broker call of one execution. An order-changing call is written before it is made
    and completed after; a read changes nothing at the broker, so it is written once, when done,
    together with the next write (never an extra round trip before an order)."""

    def __init__(
        self,
        sessions: Sessions,
        clock: Clock,
        execution_id: int,
        on_order: Callable[[], None] | None = None,
        on_answer: Callable[[], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.execution_id = execution_id
        self.on_order = on_order  # told when an order request is recorded and about to be sent
        self.on_answer = on_answer  # told when an order request's acknowledgement is recorded
        self._reads: list[BrokerCall] = []

    async def started(
        self, seq: int, endpoint: str, client_order_id: str | None, request: dict[str, Any]
    ) -> int:
        row = BrokerCall(
            execution_id=self.execution_id,
            seq=seq,
            endpoint=endpoint,
            client_order_id=client_order_id,
            request=request,
            outcome="sent",
            started_at=self.clock.now(),
        )
        async with self.sessions() as s:
            s.add_all([*self._reads, row])
            await s.commit()
        self._reads.clear()
        assert row.id is not None
        if self.on_order is not None:
            self.on_order()
        return row.id

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
        self._reads.append(
            BrokerCall(
                execution_id=self.execution_id,
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
        )

    async def flush(self) -> None:
        """Write the reads not yet written (an execution that ends without an order)."""
        if self._reads:
            async with self.sessions() as s:
                s.add_all(self._reads)
                await s.commit()
            self._reads.clear()

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
        async with self.sessions() as s:
            row = await s.get(BrokerCall, call_id)
            if row is None:
                return
            row.outcome, row.response, row.error = outcome, response, error
            row.latency_ms = round(latency_ms, 3)
            row.finished_at = self.clock.now()
            await s.commit()
