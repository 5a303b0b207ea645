"""The call log of one execution, kept in the signal store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from justtrades.clock import Clock
from justtrades.execution.store import CallRecord, SignalStore


class StoreCallLog:
    """Every broker call of one execution. An order-changing call is written before it is made
    and completed after; a read changes nothing at the broker, so it is written once, when done,
    with the writes that follow it (never an extra round trip before an order).

    `execution` is the execution's id, or the write that is creating its row: the position is
    read while that row is being written, and a call is recorded once it is there."""

    def __init__(
        self,
        store: SignalStore,
        clock: Clock,
        execution: int | asyncio.Future[int],
        on_order: Callable[[], None] | None = None,
        on_answer: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.execution = execution
        self.on_order = on_order  # told when an order request is recorded and about to be sent
        self.on_answer = on_answer  # told when an order request's acknowledgement is recorded

    async def execution_id(self) -> int:
        if isinstance(self.execution, int):
            return self.execution
        return await asyncio.shield(self.execution)

    async def started(
        self, seq: int, endpoint: str, client_order_id: str | None, request: dict[str, Any]
    ) -> int:
        call_id = await self.store.add_call(
            CallRecord(
                execution_id=await self.execution_id(),
                seq=seq,
                endpoint=endpoint,
                client_order_id=client_order_id,
                request=request,
                outcome="sent",
                started_at=self.clock.now(),
            )
        )
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
        execution_id = await self.execution_id()
        self.store.add_read(
            CallRecord(
                execution_id=execution_id,
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
