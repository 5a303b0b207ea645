"""The signal engine: intake (the webhook's hot path), the dispatcher, the account runner and
recovery after a restart, wired together.

    webhook -> accept(): cached strategy, parse, dedup, INSERT signal, queue   (no broker call)
    dispatcher (execution/dispatcher.py): in arrival order, lane tickets, a task per signal
    account runner (execution/runner.py): lane turn -> position -> plan -> recorded calls
    store (execution/store.py, sqlstore.py): every write, group-committed
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from justtrades.brokers.base import BrokerError
from justtrades.brokers.registry import BrokerRegistry
from justtrades.clock import Clock
from justtrades.execution.dispatcher import Dispatcher
from justtrades.execution.intake import (
    Deduper,
    SignalJob,
    SignalQueue,
    StrategyCache,
    StrategyEntry,
    body_hash,
)
from justtrades.execution.lanes import Lanes
from justtrades.execution.late import LateSettler
from justtrades.execution.overrides import alert_layer
from justtrades.execution.recovery import recover_signals
from justtrades.execution.runner import AccountRunner
from justtrades.execution.settings import RiskSettings
from justtrades.execution.settle import settle_at_restart
from justtrades.execution.signal import SignalError, parse_signal
from justtrades.execution.signal_values import storable
from justtrades.execution.sqlstore import SqlStore
from justtrades.execution.store import SignalRecord
from justtrades.execution.timing import Stages
from justtrades.execution.traders import TraderCache
from justtrades.logs import get_logger
from justtrades.metrics import Metrics
from justtrades.models import Signal, Strategy
from justtrades.tasks import Supervisor

log = get_logger("justtrades.engine")
DISPATCHER = "signal-dispatcher"
WRITER = "db-writer"
LATE = "outcome-settler"
MAX_BODY_STORED = 65_536


class UnknownToken(Exception):
    pass


class Unavailable(Exception):
    """The dispatcher is not running: answer 503 so that TradingView retries."""


class BadSignal(Exception):
    def __init__(self, message: str, signal_id: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.signal_id = signal_id


@dataclass(frozen=True)
class Accepted:
    signal_id: int
    status: str  # accepted | duplicate | ignored
    detail: str = ""


def entry_of(row: Strategy) -> StrategyEntry:
    assert row.id is not None
    return StrategyEntry(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        token=row.webhook_token,
        enabled=row.enabled,
        symbol=row.symbol,
        settings=RiskSettings.model_validate(row.settings or {}),
    )


class Engine:
    def __init__(
        self,
        db: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        registry: BrokerRegistry,
        clock: Clock,
        *,
        dedup_window_secs: float = 30,
        max_signal_age_secs: float = 30,
        tasks: Supervisor,
        metrics: Metrics,
    ) -> None:
        self.sessions = sessions
        self.tasks = tasks
        self.metrics = metrics
        self.store = SqlStore(db)
        self.registry = registry
        self.clock = clock
        self.max_signal_age_secs = max_signal_age_secs
        self.cache = StrategyCache()
        self.traders = TraderCache(sessions)
        self.dedup = Deduper(dedup_window_secs)
        self.queue = SignalQueue()
        self.lanes = Lanes()
        self.runner = AccountRunner(
            self.store, registry, clock, max_signal_age_secs, metrics, self.traders.trades
        )
        self.dispatcher = Dispatcher(
            self.queue,
            self.cache,
            self.traders,
            self.store,
            self.runner,
            self.lanes,
            clock,
            tasks,
            metrics,
            max_signal_age_secs,
        )
        self.late = LateSettler(sessions, registry, clock)
        self.running = self.dispatcher.running
        metrics.live.queue_depth = self.queue.qsize
        metrics.live.signals_running = lambda: len(self.running)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self.dispatcher.stopping = False
        self.tasks.start(WRITER, self.store.batcher.run)
        await self.load_strategies()
        await self.remember_recent()
        await settle_at_restart(self.sessions, self.registry, self.clock)
        await self.recover()
        self.tasks.start(LATE, self.late.run)
        self.tasks.start(DISPATCHER, self.dispatcher.run)

    async def stop(self) -> None:
        """No new signal is dispatched; those executing finish (the supervisor's drain bounds
        the wait, then cancels what is left), then what they wrote is committed and the
        writer stops. A signal still queued stays `accepted` for the next start."""
        self.dispatcher.stopping = True
        try:
            await asyncio.wait_for(
                self.dispatcher.idle.wait(), timeout=self.tasks.drain_timeout_secs
            )
        except TimeoutError:
            log.error("the dispatcher did not finish its signal in time: cancelled")
        await self.tasks.stop_task(DISPATCHER)
        await self.tasks.stop_task(LATE)
        await self.tasks.drain()
        try:
            await asyncio.wait_for(self.store.idle(), timeout=self.tasks.drain_timeout_secs)
        except TimeoutError:
            log.error("writes still pending at shutdown", pending=self.store.batcher.pending)
        await self.tasks.stop_task(WRITER)

    @property
    def dispatcher_state(self) -> str:
        state = self.tasks.state(DISPATCHER)
        return state.state if state is not None else "not started"

    @property
    def accepting(self) -> bool:
        """Running, or restarting after a crash: the queue is kept, so an accepted signal is
        dispatched when the loop is back (or expired with its age, never lost)."""
        return self.dispatcher_state in ("running", "restarting")

    async def load_strategies(self) -> None:
        async with self.sessions() as s:
            for row in (await s.execute(select(Strategy))).scalars():
                self.cache.put(entry_of(row))

    async def remember_recent(self) -> None:
        """A retry of a body received just before a restart is still a duplicate."""
        now, mono = self.clock.now(), self.clock.monotonic()
        since = now - timedelta(seconds=self.dedup.window_secs)
        async with self.sessions() as s:
            rows = await s.execute(
                select(Signal.id, Signal.strategy_id, Signal.body_hash, Signal.received_at)
                .where(col(Signal.received_at) >= since)
                .where(col(Signal.status).not_in(["rejected", "duplicate", "ignored"]))
                .order_by(col(Signal.id))
            )
            for signal_id, strategy_id, digest, received in rows.all():
                age = (now - received).total_seconds()
                self.dedup.add(strategy_id, digest, mono - age, signal_id)

    def _count(self, status: str) -> None:
        self.metrics.signals.labels(status).inc()

    # --- intake --------------------------------------------------------------------------------

    async def accept(self, token: str, body: bytes, content_type: str | None) -> Accepted:
        """The webhook: one INSERT, no broker call. Raises UnknownToken or BadSignal."""
        strategy = self.cache.by_token(token)
        if strategy is None:
            raise UnknownToken
        if not self.accepting:
            raise Unavailable
        now = self.clock.now()
        digest = body_hash(body)
        row = SignalRecord(
            user_id=strategy.user_id,
            strategy_id=strategy.id,
            received_at=now,
            content_type=(content_type or "")[:100] or None,
            body=body[:MAX_BODY_STORED].decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
            body_hash=digest,
            status="accepted",
        )
        try:
            if b"\x00" in body or b"\\u0000" in body:  # raw or JSON-escaped NUL
                raise SignalError("the body contains NUL characters")
            intent = parse_signal(body, content_type)
            alert_layer(intent.overrides.model_dump(exclude_none=True))  # refuse bad overrides now
        except (SignalError, ValueError) as e:
            reason = storable(str(e))
            row.status, row.error, row.finished_at = "rejected", reason, now
            try:
                rejected: int | None = await self._insert(row)
            except Exception:  # the answer is still the 4xx that says what is wrong
                log.exception("could not store a rejected signal", strategy_id=strategy.id)
                rejected = None
            else:
                self._count("rejected")
            raise BadSignal(reason, rejected) from None
        row.intent = intent.model_dump(mode="json")
        mono = self.clock.monotonic()
        repeated = self.dedup.check(strategy.id, digest, mono)
        if repeated is not None:
            row.status, row.finished_at = "duplicate", now
            same = f"signal {repeated}" if repeated else "a signal being recorded"
            row.status_reason = f"same body as {same} within the dedup window"
            duplicate = await self._insert(row)
            self._count("duplicate")
            return Accepted(duplicate, "duplicate", row.status_reason)
        if not strategy.active:
            row.status, row.status_reason, row.finished_at = "ignored", "strategy disabled", now
            ignored = await self._insert(row)
            self._count("ignored")
            return Accepted(ignored, "ignored", "strategy disabled")
        # Before the first await: an identical request arriving meanwhile is a duplicate, and
        # this signal's place in line is its arrival, not the end of its INSERT.
        self.dedup.add(strategy.id, digest, mono, 0)
        slot = self.queue.reserve()
        try:
            signal_id = await self._insert(row)
        except BaseException:
            if row.id is not None:  # committed, then interrupted: it is accepted, run it
                slot.set_result(SignalJob(row.id, strategy.id, now, intent))
                self._count("accepted")
            else:
                slot.set_result(None)
                self.dedup.forget(strategy.id, digest)
            raise
        self.dedup.add(strategy.id, digest, mono, signal_id)
        stages = Stages(self.clock, now)
        stages.mark("stored")
        stages.observe(self.metrics)
        slot.set_result(SignalJob(signal_id, strategy.id, now, intent, stages=stages.ms))
        self._count("accepted")
        return Accepted(signal_id, "accepted")

    async def _insert(self, row: SignalRecord) -> int:
        return await self.store.add_signal(row)

    # --- recovery ------------------------------------------------------------------------------

    async def recover(self) -> None:
        """What a stopped process left: see execution/recovery.py."""
        for status in await recover_signals(
            self.sessions, self.clock, self.queue, self.max_signal_age_secs
        ):
            self._count(status)


__all__ = ["Accepted", "BadSignal", "BrokerError", "Engine", "UnknownToken"]
