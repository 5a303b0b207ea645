"""Recovery at start: what a stopped process left in the database becomes what it should be
before the first new signal is dispatched."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from justtrades.clock import Clock
from justtrades.execution.intake import SignalJob, SignalQueue
from justtrades.execution.jobs import plan_steps, verdict
from justtrades.execution.settle import READ_ENDPOINTS
from justtrades.execution.signal import SignalIntent
from justtrades.logs import get_logger
from justtrades.models import BrokerCall, Execution, Signal

log = get_logger("justtrades.recovery")

# The result of an execution that a restart replaced by a re-run of its trader.
SUPERSEDED = "superseded by a re-run after a restart"
OPEN = ("accepted", "executing")


def _steps(e: Execution, requests: list[dict[str, Any] | None]) -> int | None:
    """How many steps the execution's plan had: each order call says "step": "k/n"."""
    if e.plan and isinstance(e.plan.get("steps"), list):
        return len(e.plan["steps"])
    return plan_steps(requests)


def _resolved(
    e: Execution,
    calls: list[tuple[str, str]],
    requests: list[dict[str, Any] | None],
    now: datetime,
    can_resume: bool = True,
) -> bool:
    """An execution that was running, with orders at the broker: what its settled calls say
    it did. True when its trader resumes: every order it sent is at the broker or was not
    carried out, and the plan had steps left (a reversal's flatten done, its entry never
    sent); the re-run plans from the broker's position, so it sends what is left, never what
    was done."""
    steps = _steps(e, requests)
    e.finished_at = now
    open_calls = [n for n, (_, outcome) in enumerate(calls, 1) if outcome in ("sent", "unknown")]
    done = sum(1 for _, outcome in calls if outcome == "ok")
    if open_calls:
        e.status = "failed"
        e.error = (
            "interrupted by a restart: the outcome of an order is unknown at the broker; "
            "reconcile its calls by client order id"
        )
    elif steps is not None and done >= steps and calls[-1][1] == "ok":
        e.status, e.result = "done", f"{done} step(s) carried out before a restart (settled)"
    elif steps is not None and done and calls[-1][1] in ("ok", "failed") and can_resume:
        # Every step it sent is at the broker or was not carried out (`failed` is never an
        # order the broker may hold: not sent, or not there at restart): what is left is
        # planned again from the broker's position.
        e.status, e.result = "failed", SUPERSEDED
        e.error = (
            f"interrupted by a restart after {done} of {steps} step(s), all at the broker; "
            "the trader resumes from the broker's position"
        )
        return True
    else:
        e.status = "failed"
        e.error = (
            f"interrupted by a restart after {done} of {steps if steps is not None else '?'} "
            "step(s); the rest was not sent (never re-run: the broker holds its orders)"
        )
    return False


async def recover_signals(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    queue: SignalQueue,
    max_age_secs: float,
) -> list[str]:
    """Accepted but not executed before a restart: executed if still fresh, else expired.
    A signal that was executing is resumed trader by trader (after settle.py looked up its
    open calls at the broker): a trader whose execution has no order at the broker (only reads
    happened, or its orders were found never placed) is run again; one whose execution has or
    may have an order at the broker is never re-run, its execution kept and ended with what
    the broker shows. Returns the statuses it ended signals with (for the signal counters);
    the fresh ones are put on `queue`."""
    now = clock.now()
    ended: list[str] = []
    async with sessions() as s:
        calls: dict[int, list[tuple[str, str]]] = {}  # execution -> its order calls, in order
        requests: dict[int, list[dict[str, Any] | None]] = {}
        for execution_id, endpoint, outcome, request in (
            await s.execute(
                select(
                    BrokerCall.execution_id,
                    BrokerCall.endpoint,
                    BrokerCall.outcome,
                    BrokerCall.request,
                )
                .join(Execution, col(BrokerCall.execution_id) == col(Execution.id))
                .join(Signal, col(Signal.id) == col(Execution.signal_id))
                .where(col(Signal.status).in_(OPEN))
                .where(col(BrokerCall.endpoint).not_in(READ_ENDPOINTS))
                .order_by(col(BrokerCall.execution_id), col(BrokerCall.seq))
            )
        ).all():
            calls.setdefault(execution_id, []).append((endpoint, outcome))
            requests.setdefault(execution_id, []).append(request)
        # A signal's `executing` mark is written after its first order's record (records.py):
        # an `accepted` signal with executions was executing too.
        of_signal: dict[int, list[Execution]] = {}
        for e in (
            (
                await s.execute(
                    select(Execution)
                    .join(Signal, col(Signal.id) == col(Execution.signal_id))
                    .where(col(Signal.status).in_(OPEN))
                    .order_by(col(Execution.id))
                )
            )
            .scalars()
            .all()
        ):
            of_signal.setdefault(e.signal_id, []).append(e)
        rows = (
            (
                await s.execute(
                    select(Signal)
                    .where(col(Signal.status).in_(OPEN))
                    .order_by(col(Signal.received_at), col(Signal.id))  # arrival order
                )
            )
            .scalars()
            .all()
        )
        for row in rows:
            assert row.id is not None
            age = (now - row.received_at).total_seconds()
            kept: list[Execution] = []
            resumed = False
            fresh = age <= max_age_secs and row.intent is not None
            executions = of_signal.get(row.id, [])
            if row.status == "executing" or executions:
                row.status = "executing"
                reads_only: list[int] = []
                for e in executions:
                    assert e.id is not None
                    own = calls.get(e.id, [])
                    if e.result == SUPERSEDED:
                        continue  # an earlier restart's record: its trader was run again
                    if e.status != "running":
                        kept.append(e)  # it had ended: never re-run
                    elif any(o in ("sent", "unknown", "ok") for _, o in own):
                        if not _resolved(e, own, requests.get(e.id, []), now, fresh):
                            kept.append(e)
                        else:
                            resumed = True
                    elif own:  # its orders never reached the broker: the trader runs again
                        e.status, e.finished_at, e.result = "skipped", now, SUPERSEDED
                        e.error = "cut off by a restart; its orders never reached the broker"
                    else:
                        reads_only.append(e.id)
                if reads_only:  # only reads happened for these traders: as if never started
                    await s.execute(delete(Execution).where(col(Execution.id).in_(reads_only)))
                # Still `executing` (not back to `accepted`): if the process stops again before
                # the re-run, the next start looks at these executions again.
                row.status_reason = (
                    f"executing when the service stopped; {len(kept)} trader(s) had finished "
                    "or placed orders (kept, never re-sent), the others run again"
                )
            if age > max_age_secs or row.intent is None:
                row.status, row.finished_at = ("interrupted" if kept else "expired"), now
                row.status_reason = (
                    f"not executed before a restart; {age:.1f} s old, "
                    f"older than the maximum of {max_age_secs:g} s"
                    + (f"; {len(kept)} trader(s) had placed orders: reconcile" if kept else "")
                )
                ended.append(row.status)
                continue
            intent = SignalIntent.model_validate(row.intent)
            queue.put(
                SignalJob(
                    row.id,
                    row.strategy_id,
                    row.received_at,
                    intent,
                    skip_traders=frozenset(e.trader_id for e in kept if e.trader_id is not None),
                    skip_accounts=frozenset(e.account_id for e in kept if e.account_id is not None),
                    prior=tuple(verdict(e.status, e.error) for e in kept),
                    resumed=resumed,
                )
            )
            log.info("signal recovered", signal_id=row.id, age_secs=round(age, 3), kept=len(kept))
        await s.commit()
    return ended
