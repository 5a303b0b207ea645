"""Dispatch: accepted signals in arrival order, each signal's traders at once.

For each signal the dispatcher, without a database round trip (traders come from the cache,
only a cache miss reads): checks its age, finds its traders, takes one lane ticket per
(broker account, symbol) in arrival order, and hands the signal to a task of its own. Every
write (the signal's end, the executions) happens in those tasks through the signal store, so a
burst is dispatched as fast as it arrives and the lanes keep each account's order strict.
"""

from __future__ import annotations

import asyncio

from justtrades.clock import Clock
from justtrades.execution.intake import SignalJob, SignalQueue, StrategyCache
from justtrades.execution.jobs import TraderJob
from justtrades.execution.lanes import Lanes, Ticket
from justtrades.execution.runner import AccountRunner
from justtrades.execution.store import SignalStore
from justtrades.execution.timing import FanOutTiming, Stages, past_age
from justtrades.execution.traders import TraderCache, trader_jobs
from justtrades.logs import get_logger
from justtrades.metrics import Metrics
from justtrades.tasks import Supervisor

log = get_logger("justtrades.dispatcher")


def signal_verdict(results: list[str]) -> tuple[str, str]:
    """A signal's end from its traders' (done, failed, expired, skipped): failed when any
    failed; expired when every one was too old; skipped when every one was blocked or too old
    (a filter, a trader disabled before its turn); else done."""
    failed = [r for r in results if r not in ("done", "skipped", "expired")]
    if failed:
        return "failed", f"{len(failed)} of {len(results)} traders failed"
    if results and all(r == "expired" for r in results):
        return "expired", "expired for every trader: too old to trade (see each one)"
    if results and all(r in ("expired", "skipped") for r in results):
        return "skipped", "every trader was blocked or too old (see each one)"
    return "done", f"{len(results)} traders done"


class Dispatcher:
    def __init__(
        self,
        queue: SignalQueue,
        strategies: StrategyCache,
        traders: TraderCache,
        store: SignalStore,
        runner: AccountRunner,
        lanes: Lanes,
        clock: Clock,
        tasks: Supervisor,
        metrics: Metrics,
        max_age_secs: float,
    ) -> None:
        self.queue = queue
        self.strategies = strategies
        self.traders = traders
        self.store = store
        self.runner = runner
        self.lanes = lanes
        self.clock = clock
        self.tasks = tasks
        self.metrics = metrics
        self.max_age_secs = max_age_secs
        self.running: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.idle = asyncio.Event()  # set while the loop is not inside dispatch()
        self.idle.set()

    async def run(self) -> None:
        """Signal by signal, in arrival order. A failure fails that signal, never the loop."""
        while not self.stopping:
            job = await self.queue.get()
            if self.stopping:
                return  # still `accepted` in the database: recovered at the next start
            self.idle.clear()
            try:
                await self.dispatch(job)
            except Exception:
                log.exception("dispatch failed", signal_id=job.signal_id)
                self._finish(job, "failed", "internal error in dispatch")
            finally:
                self.idle.set()

    def _spawn(self, job: SignalJob, work: object) -> None:
        task = self.tasks.spawn(f"signal-{job.signal_id}", work)  # type: ignore[arg-type]
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    def _finish(self, job: SignalJob, status: str, reason: str) -> None:
        if (job.prior or job.resumed) and status != "done":  # some had traded it already
            status = "interrupted"
            reason += f"; {len(job.prior)} trader(s) had ended or placed orders before a restart"
        self._spawn(job, self.finish_signal(job.signal_id, status, reason, job.stages))

    async def dispatch(self, job: SignalJob) -> None:
        """Takes every lane ticket of this signal before returning (arrival order), then runs
        its traders concurrently in the background."""
        queued = Stages(self.clock, job.received_at)
        queued.mark("queued")
        queued.observe(self.metrics)
        job.stages.update(queued.ms)
        age = past_age(job.received_at, self.clock.now(), self.max_age_secs)
        if age is not None:
            why = f"{age:.1f} s old when its turn came (maximum {self.max_age_secs:g} s)"
            self._finish(job, "expired", why)
            return
        strategy = self.strategies.by_id(job.strategy_id)
        if strategy is None:
            self._finish(job, "failed", "the strategy no longer exists")
            return
        if not strategy.active:
            self._finish(job, "ignored", "strategy disabled")
            return
        entries = await self.traders.of(strategy.id)
        today = self.clock.now().date()
        jobs = trader_jobs(strategy, job.intent, entries, today, self.traders.jobs_memo)
        if job.skip_traders or job.skip_accounts:  # resumed: these already traded it
            jobs = [
                tj
                for tj in jobs
                if tj.trader_id not in job.skip_traders and tj.account_id not in job.skip_accounts
            ]
        if not jobs:
            if job.prior:
                self._spawn(job, self._run_signal(job, []))
            else:
                self._finish(job, "done", "no enabled trader")
            return
        work = [
            (
                tj,
                self.lanes.ticket((tj.broker_key, tj.contract.name))
                if tj.contract and not tj.problem
                else None,
            )
            for tj in jobs
        ]
        self._spawn(job, self._run_signal(job, work))

    async def _run_signal(
        self, job: SignalJob, work: list[tuple[TraderJob, Ticket | None]]
    ) -> None:
        timing = FanOutTiming(self.clock, self.metrics, job.received_at)
        results = await asyncio.gather(
            *(self.runner.run(job, tj, ticket, timing) for tj, ticket in work),
            return_exceptions=True,
        )
        timing.finished()
        results = [*job.prior, *results]  # executions kept from before a restart, if any
        for r in results:
            if isinstance(r, BaseException):
                log.error("a trader's run raised", signal_id=job.signal_id, error=repr(r))
        status, text = signal_verdict([r if isinstance(r, str) else "failed" for r in results])
        if job.resumed and status in ("expired", "skipped"):  # part of a plan had run
            status, text = "interrupted", f"{text}; a plan cut off by a restart had begun"
        await self.finish_signal(job.signal_id, status, text)

    async def finish_signal(
        self, signal_id: int, status: str, reason: str, timings: dict[str, float] | None = None
    ) -> None:
        await self.store.finish_signal(signal_id, status, reason, timings, self.clock.now())
        self.metrics.signals.labels(status).inc()
