"""Recovery at start: what a stopped process left in the database becomes what it should be
before the first new signal is dispatched."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from justtrades.clock import Clock
from justtrades.execution.intake import SignalJob, SignalQueue
from justtrades.execution.signal import SignalIntent
from justtrades.logs import get_logger
from justtrades.models import BrokerCall, Execution, Signal

log = get_logger("justtrades.recovery")

# Broker calls that change nothing at the broker: an execution with only these can be re-run.
READ_ENDPOINTS = ("get_position", "get_positions", "list_orders", "find_order", "list_fills")


async def recover_signals(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    queue: SignalQueue,
    max_age_secs: float,
) -> list[str]:
    """Accepted but not executed before a restart: executed if still fresh, else expired.
    A signal that was executing when the process stopped is run again (or expired) when
    none of its executions had sent an order-changing call: only reads happened, so
    nothing can be doubled; those executions are dropped and the traders start afresh.
    One that had sent an order is never re-run: it is marked interrupted, for
    reconciliation by client order id. Returns the statuses it ended signals with (for the
    signal counters); the fresh ones are put on `queue`."""
    now = clock.now()
    ended: list[str] = []
    async with sessions() as s:
        ordered = set(
            (
                await s.execute(
                    select(Execution.signal_id)
                    .join(BrokerCall, col(BrokerCall.execution_id) == col(Execution.id))
                    .join(Signal, col(Signal.id) == col(Execution.signal_id))
                    .where(col(Signal.status) == "executing")
                    .where(col(BrokerCall.endpoint).not_in(READ_ENDPOINTS))
                )
            ).scalars()
        )
        rows = (
            (
                await s.execute(
                    select(Signal)
                    .where(Signal.status.in_(["accepted", "executing"]))  # type: ignore[attr-defined]
                    .order_by(col(Signal.received_at), col(Signal.id))  # arrival order
                )
            )
            .scalars()
            .all()
        )
        for row in rows:
            age = (now - row.received_at).total_seconds()
            if row.status == "executing" and row.id not in ordered:
                # no order left the service for it: as if it had never started
                await s.execute(delete(Execution).where(col(Execution.signal_id) == row.id))
                row.status = "accepted"
                row.status_reason = "executing when the service stopped, before any order"
            if row.status == "executing":
                row.status, row.finished_at = "interrupted", now
                row.status_reason = "the service stopped while executing; reconcile"
                ended.append(row.status)
                await s.execute(
                    update(Execution)
                    .where(col(Execution.signal_id) == row.id)
                    .where(col(Execution.status) == "running")
                    .values(
                        status="failed",
                        finished_at=now,
                        error="interrupted by a restart: reconcile its calls by client order id",
                    )
                )
            elif age > max_age_secs or row.intent is None:
                row.status, row.finished_at = "expired", now
                row.status_reason = (
                    f"not executed before a restart; {age:.1f} s old, "
                    f"older than the maximum of {max_age_secs:g} s"
                )
                ended.append(row.status)
            else:
                assert row.id is not None
                intent = SignalIntent.model_validate(row.intent)
                queue.put(SignalJob(row.id, row.strategy_id, row.received_at, intent))
                log.info("signal recovered", signal_id=row.id, age_secs=round(age, 3))
        await s.commit()
    return ended
