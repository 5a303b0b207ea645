"""Where the engine keeps signals, executions and broker calls: a small interface, the SQL
implementation (execution/sqlstore.py, group-committed) and an in-memory one for fast tests.

Signals, executions and broker calls are plain records with the columns' names (building a
SQLModel row costs about 0.06 ms hot and several times that on a cold core, on the path of
every alert and, by the hundred, of every fan-out). The store never hands out a
session, and nothing outside it builds SQL for the engine's writes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(slots=True)
class SignalRecord:
    """A row of `signals` (same names)."""

    user_id: int
    strategy_id: int
    received_at: datetime
    body: str
    body_hash: str
    status: str
    content_type: str | None = None
    status_reason: str | None = None
    intent: dict[str, Any] | None = None
    error: str | None = None
    finished_at: datetime | None = None
    timings: dict[str, Any] | None = None
    id: int | None = None


@dataclass(slots=True)
class ExecutionRecord:
    """A row of `executions` (same names)."""

    signal_id: int
    trader_id: int | None
    account_id: int | None
    symbol: str | None
    status: str
    created_at: datetime
    error: str | None = None
    finished_at: datetime | None = None
    timings: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    result: str | None = None
    id: int | None = None


@dataclass(slots=True)
class CallRecord:
    """A row of `broker_calls` (same names)."""

    execution_id: int
    seq: int
    endpoint: str
    outcome: str
    started_at: datetime
    client_order_id: str | None = None
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    error: str | None = None
    latency_ms: float | None = None
    finished_at: datetime | None = None
    id: int | None = None


class SignalStore(Protocol):
    async def add_signal(self, row: SignalRecord) -> int:
        """The webhook's record of an alert, committed before the alert is acknowledged."""
        ...

    async def add_execution(
        self,
        row: ExecutionRecord,
        calls: Sequence[CallRecord] = (),
        signal_timings: dict[str, Any] | None = None,
    ) -> int:
        """An execution row with its first calls, committed together: `calls` get the row's id
        as their `execution_id` (and their own ids); with `signal_timings`, the signal is
        marked `executing` (unless it is already, or finished) in the same commit. Written
        at a trader's first write-ahead record (the reads so far and that record), or as the
        execution ends when it sent no order."""
        ...

    def mark_executing(self, signal_id: int, signal_timings: dict[str, Any]) -> None:
        """The signal `executing` (unless it is already, or finished), with its timings so far;
        nobody waits for it."""
        ...

    async def add_call(self, row: CallRecord) -> int:
        """The write-ahead record of an order-changing call: committed before it is sent."""
        ...

    def add_read(self, row: CallRecord) -> None:
        """A finished read (it changed nothing at the broker): written with the next writes,
        nobody waits for it."""
        ...

    async def finish_call(
        self,
        call_id: int,
        outcome: str,
        response: dict[str, Any] | None,
        error: str | None,
        latency_ms: float,
        finished_at: datetime,
    ) -> None: ...

    async def finish_execution(
        self,
        execution_id: int,
        status: str,
        plan: dict[str, Any] | None,
        result: str | None,
        error: str | None,
        timings: dict[str, Any] | None,
        finished_at: datetime,
    ) -> None: ...

    async def finish_signal(
        self,
        signal_id: int,
        status: str,
        reason: str,
        timings: dict[str, Any] | None,
        finished_at: datetime,
    ) -> None: ...

    async def idle(self) -> None:
        """Until everything submitted so far is written."""
        ...


class MemoryStore:
    """The store in memory: the same contract, no database (unit tests of the runner and the
    dispatcher). Rows are kept as given; `signals`, `executions` and `calls` are by id."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.signals: dict[int, SignalRecord] = {}
        self.executions: dict[int, ExecutionRecord] = {}
        self.calls: dict[int, CallRecord] = {}

    def _keep(self, table: dict[int, Any], row: Any) -> int:
        row.id = next(self._ids)
        table[row.id] = row
        return int(row.id)

    async def add_signal(self, row: SignalRecord) -> int:
        return self._keep(self.signals, row)

    async def add_execution(
        self,
        row: ExecutionRecord,
        calls: Sequence[CallRecord] = (),
        signal_timings: dict[str, Any] | None = None,
    ) -> int:
        if signal_timings is not None:
            self._mark(row.signal_id, signal_timings)
        execution_id = self._keep(self.executions, row)
        for call in calls:
            call.execution_id = execution_id
            self._keep(self.calls, call)
        return execution_id

    def mark_executing(self, signal_id: int, signal_timings: dict[str, Any]) -> None:
        self._mark(signal_id, signal_timings)

    def _mark(self, signal_id: int, signal_timings: dict[str, Any]) -> None:
        signal = self.signals.get(signal_id)
        if signal is not None and signal.status == "accepted":
            signal.status, signal.timings = "executing", dict(signal_timings)

    async def add_call(self, row: CallRecord) -> int:
        return self._keep(self.calls, row)

    def add_read(self, row: CallRecord) -> None:
        self._keep(self.calls, row)

    async def finish_call(
        self,
        call_id: int,
        outcome: str,
        response: dict[str, Any] | None,
        error: str | None,
        latency_ms: float,
        finished_at: datetime,
    ) -> None:
        row = self.calls.get(call_id)
        if row is not None:
            row.outcome, row.response, row.error = outcome, response, error
            row.latency_ms, row.finished_at = latency_ms, finished_at

    async def finish_execution(
        self,
        execution_id: int,
        status: str,
        plan: dict[str, Any] | None,
        result: str | None,
        error: str | None,
        timings: dict[str, Any] | None,
        finished_at: datetime,
    ) -> None:
        row = self.executions.get(execution_id)
        if row is not None:
            row.status, row.result, row.error, row.finished_at = status, result, error, finished_at
            if plan is not None:
                row.plan = plan
            if timings:
                row.timings = dict(timings)

    async def finish_signal(
        self,
        signal_id: int,
        status: str,
        reason: str,
        timings: dict[str, Any] | None,
        finished_at: datetime,
    ) -> None:
        row = self.signals.get(signal_id)
        if row is not None:
            row.status, row.status_reason, row.finished_at = status, reason, finished_at
            if timings:
                row.timings = dict(timings)

    async def idle(self) -> None:
        return None

    def calls_of(self, execution_id: int) -> list[CallRecord]:
        return sorted(
            (c for c in self.calls.values() if c.execution_id == execution_id),
            key=lambda c: c.seq,
        )
