"""Unknown outcomes settled late: an order call (with a client order id) whose outcome
stayed `unknown` when its execution ended (the broker could not be asked in time: a long
rate-limit cooldown, a broker down) is looked up again every `interval_secs` for an hour.
When the broker shows it, the call is recorded as it shows, and its execution and signal are
corrected: an execution whose every step turns out to be at the broker is `done`, and a
`failed` signal whose every execution is done is `done` (an `interrupted` one is never
touched). An order absent from LATE_ABSENT_PASSES passes is recorded never placed. Flattens
(no client order id) are left to reconciliation. Nothing is ever sent here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from justtrades.admin import connection_spec
from justtrades.brokers.registry import BrokerRegistry
from justtrades.clock import Clock
from justtrades.execution.dispatcher import signal_verdict
from justtrades.execution.jobs import plan_steps, verdict
from justtrades.execution.lookups import Settled, settle_order
from justtrades.execution.recovery import SUPERSEDED
from justtrades.execution.settle import READ_ENDPOINTS, order_calls_with_accounts
from justtrades.logs import get_logger
from justtrades.models import Account, BrokerCall, BrokerConnection, Execution, Signal

log = get_logger("justtrades.late")

LATE_INTERVAL_SECS = 10.0
LATE_HORIZON_SECS = 3600.0  # after that, an unknown call is left to reconciliation
# Passes that must answer "not there" before an order is taken as never placed (a broker may
# show a request late; at 10 s a pass this is more than a minute of absence).
LATE_ABSENT_PASSES = 6


def signal_status(executions: list[Execution]) -> tuple[str, str]:
    """A finished signal's status from its executions (superseded ones left out)."""
    live = [e for e in executions if e.result != SUPERSEDED]
    return signal_verdict([verdict(e.status, e.error) for e in live])


class LateSettler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        registry: BrokerRegistry,
        clock: Clock,
        interval_secs: float = LATE_INTERVAL_SECS,
        pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.sessions = sessions
        self.registry = registry
        self.clock = clock
        self.interval_secs = interval_secs
        # The cadence of the passes, in real time: a test clock whose sleep moves time would
        # spin this loop and age every signal. What it decides uses the injected clock.
        self.pause = pause
        self._absent: dict[int, int] = {}  # call id -> passes that did not find it

    async def run(self) -> None:
        while True:
            await self.pause(self.interval_secs)
            await self.once()

    async def once(self) -> int:
        """One pass over the open calls of ended executions; how many it settled."""
        since = self.clock.now() - timedelta(seconds=LATE_HORIZON_SECS)
        async with self.sessions() as s:
            rows = (
                await s.execute(
                    order_calls_with_accounts()
                    .where(col(BrokerCall.outcome) == "unknown")
                    # A flatten has no client order id, and today's position says nothing of
                    # what one flatten did an hour ago: left to reconciliation.
                    .where(col(BrokerCall.client_order_id).is_not(None))
                    .where(col(BrokerCall.started_at) >= since)
                    .where(col(Execution.status) != "running")
                    .where(col(Signal.status).not_in(["accepted", "executing"]))
                )
            ).all()
        count = 0
        for call, account, conn in rows:
            found = await self._look(call, account, conn)
            if found is not None:
                await self._record(call, found)
                count += 1
        return count

    async def _look(
        self, call: BrokerCall, account: Account, conn: BrokerConnection
    ) -> Settled | None:
        assert call.id is not None and call.client_order_id is not None
        try:
            broker = self.registry.get(connection_spec(conn))
            found = await settle_order(
                broker, account.broker_account_id, call.client_order_id, self.clock.sleep, (0.0,)
            )
        except Exception:
            log.exception("late look-up failed", call_id=call.id)
            return None
        if found is not None and found.outcome == "failed":  # answered, not there (yet?)
            misses = self._absent[call.id] = self._absent.get(call.id, 0) + 1
            if misses < LATE_ABSENT_PASSES:
                return None
            found = Settled("failed", None, f"not at the broker in {misses} look-ups: never placed")
        self._absent.pop(call.id, None)
        return found

    async def _record(self, call: BrokerCall, found: Settled) -> None:
        async with self.sessions() as s:
            row = await s.get(BrokerCall, call.id)
            if row is None or row.outcome != "unknown":
                return
            row.outcome, row.response, row.finished_at = (
                found.outcome,
                found.response,
                self.clock.now(),
            )
            row.error = f"{row.error or ''}; settled later: {found.error or found.outcome}"
            execution = await s.get(Execution, row.execution_id)
            assert execution is not None
            calls = list(
                (
                    await s.execute(
                        select(BrokerCall)
                        .where(BrokerCall.execution_id == execution.id)
                        .where(col(BrokerCall.endpoint).not_in(READ_ENDPOINTS))
                        .order_by(col(BrokerCall.seq))
                    )
                ).scalars()
            )
            steps = plan_steps([c.request for c in calls])
            ok = sum(1 for c in calls if c.outcome == "ok")
            if calls[-1].outcome == "ok" and steps is not None and ok >= steps:
                execution.status, execution.error = "done", None
                execution.result = f"{ok} step(s) at the broker (the last settled later)"
            else:
                execution.error = f"{execution.error or ''} (settled later: {row.outcome})"
            signal = await s.get(Signal, execution.signal_id)
            if signal is not None and signal.status == "failed":  # never undo interrupted
                executions = list(
                    (await s.execute(select(Execution).where(Execution.signal_id == signal.id)))
                    .scalars()
                    .all()
                )
                signal.status, signal.status_reason = signal_status(executions)
            await s.commit()
        log.info("settled late", call_id=call.id, outcome=found.outcome)
