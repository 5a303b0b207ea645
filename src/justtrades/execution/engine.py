"""The signal engine: intake (the webhook's hot path), dispatch in arrival order, parallel
execution per trader, and recovery after a restart.

    webhook -> accept(): cached strategy, parse, dedup, INSERT signal, queue   (no broker call)
    dispatcher: signal by signal, in arrival order: expire if too old, load the enabled
      traders, take one lane ticket per (account, symbol), then run every trader at once
    trader: wait for its lane turn -> broker position -> plan -> execute (every call recorded)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from justtrades.admin import connection_spec
from justtrades.brokers.base import BrokerError
from justtrades.brokers.registry import BrokerRegistry
from justtrades.clock import Clock
from justtrades.execution.intake import (
    Deduper,
    SignalJob,
    SignalQueue,
    StrategyCache,
    StrategyEntry,
    body_hash,
)
from justtrades.execution.lanes import Lanes, Ticket
from justtrades.execution.records import (
    WriteSessions,
    start_executions,
)
from justtrades.execution.recovery import recover_signals
from justtrades.execution.runner import AccountRunner, TraderJob
from justtrades.execution.settings import (
    EffectiveSettings,
    RiskSettings,
    SettingsConflict,
    alert_layer,
    effective_settings,
)
from justtrades.execution.signal import SignalError, SignalIntent, parse_signal
from justtrades.execution.signal_values import storable
from justtrades.execution.timing import FanOutTiming, Stages
from justtrades.instruments import Contract, UnknownInstrument, resolve
from justtrades.logs import get_logger
from justtrades.metrics import Metrics
from justtrades.models import (
    Account,
    BrokerConnection,
    Signal,
    Strategy,
    Trader,
)
from justtrades.tasks import Supervisor

log = get_logger("justtrades.engine")
DISPATCHER = "signal-dispatcher"
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
        sessions: async_sessionmaker[AsyncSession],
        registry: BrokerRegistry,
        clock: Clock,
        *,
        dedup_window_secs: float = 30,
        max_signal_age_secs: float = 30,
        serialize_writes: bool = False,
        tasks: Supervisor,
        metrics: Metrics,
    ) -> None:
        self.sessions = sessions
        self.tasks = tasks
        self.metrics = metrics
        self.writes = WriteSessions(sessions, serialize_writes)
        self.registry = registry
        self.clock = clock
        self.max_signal_age_secs = max_signal_age_secs
        self.cache = StrategyCache()
        self.dedup = Deduper(dedup_window_secs)
        self.queue = SignalQueue()
        self.lanes = Lanes()
        self.runner = AccountRunner(self.writes, registry, clock, max_signal_age_secs, metrics)
        self.running: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._idle = asyncio.Event()  # set while the dispatcher is not inside dispatch()
        self._idle.set()
        metrics.live.queue_depth = self.queue.qsize
        metrics.live.signals_running = lambda: len(self.running)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        await self.load_strategies()
        await self.remember_recent()
        await self.recover()
        self.tasks.start(DISPATCHER, self._dispatch_loop)

    async def stop(self) -> None:
        """No new signal is dispatched; those executing finish (the supervisor's drain bounds
        the wait, then cancels what is left). The dispatcher is never cancelled in the middle
        of dispatching a signal: it is let finish that one (bounded), then stopped while it
        waits for the next. A signal still queued stays `accepted` for the next start."""
        self._stopping = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=self.tasks.drain_timeout_secs)
        except TimeoutError:
            log.error("the dispatcher did not finish its signal in time: cancelled")
        await self.tasks.stop_task(DISPATCHER)
        await self.tasks.drain()

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
        row = Signal(
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

    async def _insert(self, row: Signal) -> int:
        async with self.writes(urgent=True) as s:
            s.add(row)
            await s.commit()
        assert row.id is not None
        return row.id

    # --- recovery ------------------------------------------------------------------------------

    async def recover(self) -> None:
        """What a stopped process left: see execution/recovery.py."""
        for status in await recover_signals(
            self.sessions, self.clock, self.queue, self.max_signal_age_secs
        ):
            self._count(status)

    # --- dispatch ------------------------------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        """One signal at a time, in arrival order. A failure fails that signal, never the loop."""
        while not self._stopping:
            job = await self.queue.get()
            if self._stopping:
                return  # still `accepted` in the database: recovered at the next start
            self._idle.clear()
            try:
                await self.dispatch(job)
            except Exception:
                log.exception("dispatch failed", signal_id=job.signal_id)
                try:
                    await self._finish_signal(job.signal_id, "failed", "internal error in dispatch")
                except Exception:
                    log.exception("could not record the failed dispatch")
            finally:
                self._idle.set()

    async def dispatch(self, job: SignalJob) -> None:
        """Takes every lane ticket of this signal before returning (arrival order), then runs
        its traders concurrently in the background."""
        queued = Stages(self.clock, job.received_at)
        queued.mark("queued")
        queued.observe(self.metrics)
        job.stages.update(queued.ms)
        timings = job.stages
        age = (self.clock.now() - job.received_at).total_seconds()
        if age > self.max_signal_age_secs:
            await self._finish_signal(
                job.signal_id,
                "expired",
                f"{age:.1f} s old when its turn came (maximum {self.max_signal_age_secs:g} s)",
                timings,
            )
            return
        strategy = self.cache.by_id(job.strategy_id)
        if strategy is None:
            await self._finish_signal(
                job.signal_id, "failed", "the strategy no longer exists", timings
            )
            return
        if not strategy.active:
            await self._finish_signal(job.signal_id, "ignored", "strategy disabled", timings)
            return
        jobs = await self._trader_jobs(strategy, job.intent)
        if not jobs:
            await self._finish_signal(job.signal_id, "done", "no enabled trader", timings)
            return
        tickets = [
            (
                tj,
                self.lanes.ticket((tj.broker_key, tj.contract.name))
                if tj.contract and not tj.problem
                else None,
            )
            for tj in jobs
        ]
        try:  # one transaction: the signal is executing, and an execution row per trader
            ids = await start_executions(self.writes, self.clock, job.signal_id, jobs, timings)
        except BaseException:
            for _, ticket in tickets:
                if ticket is not None:
                    ticket.release()
            raise
        work = [(tj, ticket, ex) for (tj, ticket), ex in zip(tickets, ids, strict=True)]
        task = self.tasks.spawn(f"signal-{job.signal_id}", self._run_signal(job, work))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _trader_jobs(self, strategy: StrategyEntry, intent: SignalIntent) -> list[TraderJob]:
        async with self.sessions() as s:
            rows = (
                await s.execute(
                    select(Trader, Account, BrokerConnection)
                    .join(Account, Trader.account_id == Account.id)  # type: ignore[arg-type]
                    .join(BrokerConnection, Account.connection_id == BrokerConnection.id)  # type: ignore[arg-type]
                    .where(Trader.strategy_id == strategy.id, Trader.enabled == True)  # noqa: E712
                    .order_by(Trader.id)  # type: ignore[arg-type]
                )
            ).all()
        jobs: list[TraderJob] = []
        alert = alert_layer(intent.overrides.model_dump(exclude_none=True))
        today = self.clock.now().date()
        for trader, account, conn in rows:
            assert trader.id is not None and account.id is not None and conn.id is not None
            spec = connection_spec(conn)
            problem: str | None = None
            eff: EffectiveSettings | None = None
            contract: Contract | None = None
            try:
                eff = effective_settings(
                    strategy.settings,
                    RiskSettings.model_validate(trader.settings or {}),
                    alert,
                    trader.multiplier,
                )
                symbol = eff.custom_ticker or intent.ticker or strategy.symbol
                contract = resolve(symbol, today)
            except (SettingsConflict, ValidationError, ValueError) as e:
                problem = str(e)
            except UnknownInstrument as e:
                problem = f"unknown instrument: {e}"
            if eff is not None and not eff.enabled:
                continue  # disabled through its settings: not traded, like enabled = false
            if not account.active:
                problem = "account inactive"
            broker_key = (
                conn.broker,
                conn.environment,
                conn.base_url or "",
                account.broker_account_id,
            )
            jobs.append(
                TraderJob(
                    trader.id,
                    account.id,
                    account.broker_account_id,
                    spec,
                    eff,
                    contract,
                    problem,
                    broker_key,
                )
            )
        # One broker account trades once per signal, even when it is bound to two traders or
        # linked through two connections (keyed by the broker's own identity): the first
        # trader that can trade it, else the first one (whose problem is then recorded).
        chosen: dict[tuple[str, ...], TraderJob] = {}
        for tj in jobs:
            held = chosen.get(tj.broker_key)
            if held is None or (held.problem and not tj.problem):
                chosen[tj.broker_key] = tj
        keep = {id(tj) for tj in chosen.values()}
        jobs = [tj for tj in jobs if id(tj) in keep]
        return jobs

    async def _run_signal(
        self, job: SignalJob, work: list[tuple[TraderJob, Ticket | None, int]]
    ) -> None:
        timing = FanOutTiming(self.clock, self.metrics, job.received_at)
        results = await asyncio.gather(
            *(self.runner.run(job, tj, ticket, ex, timing) for tj, ticket, ex in work),
            return_exceptions=True,
        )
        timing.finished()
        failed = [r for r in results if r not in ("done", "skipped")]  # incl. exceptions
        if failed:
            text = f"{len(failed)} of {len(results)} traders failed"
            await self._finish_signal(job.signal_id, "failed", text)
        elif all(r == "skipped" for r in results):
            text = "expired for every trader while waiting for its turn"
            await self._finish_signal(job.signal_id, "expired", text)
        else:
            await self._finish_signal(job.signal_id, "done", f"{len(results)} traders done")

    async def _finish_signal(
        self, signal_id: int, status: str, reason: str, timings: dict[str, float] | None = None
    ) -> None:
        async with self.writes() as s:
            row = await s.get(Signal, signal_id)
            if row is None:
                return  # deleted meanwhile (its strategy was): nothing reached a status
            row.status, row.status_reason, row.finished_at = status, reason, self.clock.now()
            if timings:
                row.timings = dict(timings)
            await s.commit()
        self._count(status)


__all__ = ["Accepted", "BadSignal", "BrokerError", "Engine", "UnknownToken"]
