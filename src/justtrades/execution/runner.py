"""The account runner: one trader's execution of one signal, from its lane turn to its last
order. Reads the position (retried when safe, deferred through a rate-limit cooldown), plans,
executes with every call recorded, confirms a flatten before a reversal's entry, and ends the
execution record. Used by the signal engine; built to serve streams, copy trading and guards,
which run plans on accounts the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from justtrades.brokers.base import BrokerError, BrokerUnavailable, RateLimited
from justtrades.brokers.registry import BrokerRegistry
from justtrades.clock import Clock
from justtrades.execution import client_ids, planner
from justtrades.execution.executor import (
    TRANSIENT,
    FlatUnconfirmed,
    execute,
    read_with_retries,
)
from justtrades.execution.intake import SignalJob
from justtrades.execution.jobs import Outcome, TraderJob, verdict
from justtrades.execution.lanes import Ticket
from justtrades.execution.lookups import SETTLE_BUDGET_SECS
from justtrades.execution.records import StoreCallLog
from justtrades.execution.settings import EffectiveSettings
from justtrades.execution.store import ExecutionRecord, SignalStore
from justtrades.execution.timing import FanOutTiming, Stages, past_age
from justtrades.instruments import Contract
from justtrades.logs import bind, get_logger
from justtrades.metrics import Metrics

log = get_logger("justtrades.runner")

# Waits between the reads that confirm a flatten before a reversal's entry (about 3 s in all).
CONFIRM_FLAT_DELAYS_SECS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.45)


class AccountRunner:
    def __init__(
        self,
        store: SignalStore,
        registry: BrokerRegistry,
        clock: Clock,
        max_age_secs: float,
        metrics: Metrics,
        still_trades: Callable[[int, int], Awaitable[bool]] | None = None,
    ) -> None:
        self.still_trades = still_trades  # (strategy id, trader id): asked at the lane turn
        self.store = store
        self.registry = registry
        self.clock = clock
        self.max_age_secs = max_age_secs
        self.metrics = metrics

    async def run(
        self, job: SignalJob, tj: TraderJob, ticket: Ticket | None, timing: FanOutTiming
    ) -> str:
        """One trader's execution of one signal: its lane turn, the position, the plan, the
        orders; always leaves its execution record ended, whatever happens. Returns done,
        failed, expired (skipped: too old) or skipped (blocked for another reason)."""
        stages = Stages(self.clock, job.received_at)
        with bind(signal_id=job.signal_id, trader_id=tj.trader_id, account_id=tj.account_id):
            try:
                return await self._run(job, tj, ticket, timing, stages)
            finally:
                stages.observe(self.metrics)

    def _row(
        self, job: SignalJob, tj: TraderJob, status: str, error: str | None
    ) -> ExecutionRecord:
        now = self.clock.now()
        return ExecutionRecord(
            job.signal_id,
            tj.trader_id,
            tj.account_id,
            tj.contract.name if tj.contract else None,
            status,
            now,
            error=error,
            finished_at=None if status == "running" else now,
        )

    async def _ended(
        self, job: SignalJob, tj: TraderJob, status: str, error: str, stages: Stages
    ) -> str:
        """An execution that ends before any broker call: one row, written as it ends."""
        row = self._row(job, tj, status, error)
        row.timings = dict(stages.ms) or None
        await self.store.add_execution(row)
        return verdict(status, error)

    async def _run(
        self,
        job: SignalJob,
        tj: TraderJob,
        ticket: Ticket | None,
        timing: FanOutTiming,
        stages: Stages,
    ) -> str:
        if ticket is None or tj.problem or tj.settings is None or tj.contract is None:
            if ticket is not None:
                ticket.release()
            return await self._ended(job, tj, "failed", tj.problem or "cannot trade", stages)
        async with ticket:
            stages.mark("lane")
            age = past_age(job.received_at, self.clock.now(), self.max_age_secs)
            if age is not None:
                why = f"expired while waiting for its turn ({age:.1f} s)"
                return await self._ended(job, tj, "skipped", why, stages)
            if self.still_trades and not await self.still_trades(job.strategy_id, tj.trader_id):
                why = "the trader was disabled or removed before its turn"
                return await self._ended(job, tj, "skipped", why, stages)
            # The execution's row is written with its first write-ahead record (one commit
            # before the first order), or as it ends when it sends none.
            calls = StoreCallLog(
                self.store, self.clock, self._row(job, tj, "running", None), job.stages
            )
            calls.show_soon()
            try:
                outcome = await self._trade(
                    job, tj, calls, tj.settings, tj.contract, timing, stages
                )
            except Exception as e:  # an adapter bug must not take the other traders down
                log.exception("trader execution crashed")
                outcome = Outcome("failed", f"internal error: {type(e).__name__}: {e}")
            except BaseException:  # cut off (a stop): nothing more is written for it
                calls.close()
                raise
            try:
                await calls.end(
                    outcome.status,
                    outcome.plan,
                    outcome.result,
                    outcome.error,
                    stages.ms,
                    self.clock.now(),
                )
            except Exception:
                log.exception("could not record the execution")
                return "failed"
            if outcome.plan is not None:
                log.info("execution finished", status=outcome.status, summary=outcome.result)
            return verdict(outcome.status, outcome.error)

    async def _wait_cooldown(
        self, job: SignalJob, error: RateLimited, sleep: Callable[[float], Awaitable[None]]
    ) -> str | None:
        """Waits out the connection's rate-limit cooldown (nothing was sent) while the signal
        stays young enough; else says why it expires."""
        wait = error.retry_after_secs
        age = past_age(job.received_at, self.clock.now(), self.max_age_secs, wait)
        if age is not None:
            return (
                f"expired: the broker is cooling down for {wait:.0f} s after a rate limit; "
                f"the signal would be {age:.1f} s old (maximum {self.max_age_secs:g} s)"
            )
        log.info("waiting for the broker's rate-limit cooldown", wait_secs=round(wait, 3))
        await sleep(wait)
        return None

    async def _trade(
        self,
        job: SignalJob,
        tj: TraderJob,
        calls: StoreCallLog,
        eff: EffectiveSettings,
        contract: Contract,
        timing: FanOutTiming,
        stages: Stages,
    ) -> Outcome:
        broker = self.registry.get(tj.connection)

        def order_sent() -> None:
            timing.order_sent(tj.trader_id)
            stages.mark("first_order_sent")

        calls.on_order = order_sent
        calls.on_answer = lambda: stages.mark("last_order_acknowledged", again=True)

        async def sleep(secs: float) -> None:
            calls.show()  # waiting (a retry, a cooldown): seen running, its signal executing
            await self.clock.sleep(secs)

        position: Any = None

        async def read_position() -> dict[str, Any]:
            nonlocal position
            position = await broker.get_position(tj.broker_account_id, contract.name)
            return {"net_pos": position.net_pos, "avg_price": str(position.avg_price)}

        next_seq = 1
        while True:
            _, error, next_seq = await read_with_retries(
                calls,
                next_seq,
                "get_position",
                {"symbol": contract.name},
                read_position,
                sleep,
            )
            if not isinstance(error, RateLimited):
                break
            too_old = await self._wait_cooldown(job, error, sleep)
            if too_old is not None:
                return Outcome("skipped", too_old)
        if error is not None:
            return Outcome("failed", f"could not read the position: {error}")
        age = past_age(job.received_at, self.clock.now(), self.max_age_secs)
        if age is not None:  # the reads (retries, a cooldown) took it past its age
            return Outcome("skipped", f"expired while reading the position ({age:.1f} s old)")
        plan = planner.plan(job.intent, eff, position, contract, job.intent.price)
        stages.mark("planned")
        salt = client_ids.new_salt()

        def client_id(seq: int) -> str:
            return client_ids.encode(job.signal_id, tj.trader_id, seq, salt)

        async def read_flat(settling: bool) -> int:
            """The position after a flatten, read at widening intervals until flat (about 3 s
            in all, 7 reads at most; a transient failure is read again). A rate-limit cooldown
            is waited out while the signal is young enough; when `settling` (what happened to
            a flatten whose answer was lost), within the settlement budget instead: the truth
            is recorded whatever the signal's age, nothing is sent on it."""
            net: int = position.net_pos
            waited, answered = 0.0, 0
            for delay in (*CONFIRM_FLAT_DELAYS_SECS, None):
                try:
                    net = (await broker.get_position(tj.broker_account_id, contract.name)).net_pos
                    answered += 1
                except RateLimited as e:
                    if settling:
                        waited += e.retry_after_secs
                        if waited > SETTLE_BUDGET_SECS:
                            raise
                        await sleep(e.retry_after_secs)
                    else:
                        too_old = await self._wait_cooldown(job, e, sleep)
                        if too_old is not None:
                            raise FlatUnconfirmed(
                                f"the flatten could not be confirmed: {too_old}"
                            ) from None
                except TRANSIENT:
                    pass
                else:
                    if net == 0:
                        return 0
                if delay is not None:
                    await sleep(delay)
            if not answered:  # never read: the position before the flatten proves nothing
                raise BrokerUnavailable("the position could not be read after the flatten")
            return net

        async def confirm_flat() -> int:
            return await read_flat(False)

        async def settle_flat() -> int:
            try:
                async with asyncio.timeout(SETTLE_BUDGET_SECS):  # reads included
                    return await read_flat(True)
            except TimeoutError:
                raise BrokerUnavailable("the position could not be read in time") from None

        expired: list[str] = []

        async def may_resend(error: RateLimited) -> bool:
            """A step the cooling-down client did not send: sent after the cooldown while the
            signal is young enough."""
            why = await self._wait_cooldown(job, error, sleep)
            if why is not None:
                expired.append(why)
            return why is None

        result = await execute(
            plan,
            broker,
            tj.broker_account_id,
            calls,
            client_id,
            None,
            next_seq,
            confirm_flat,
            sleep,
            may_resend,
            settle_flat,
        )
        # The plan as recorded: built after the orders, not before the first one.
        plan_json = {
            "symbol": plan.symbol,
            "note": plan.note,
            "steps": [step.describe() for step in plan.steps],
            "warnings": list(plan.warnings),
            "position": {"net_pos": position.net_pos, "avg_price": str(position.avg_price)},
            "explanation": plan.describe(),
            "settings": eff.model_dump(mode="json"),
        }
        if result.ok:
            return Outcome("done", None, plan_json, result.summary)
        if expired and not any(step.ok for step in result.steps):
            return Outcome("skipped", expired[0], plan_json, result.summary)
        return Outcome("failed", result.summary, plan_json, result.summary)


__all__ = ["AccountRunner", "BrokerError", "Outcome", "TraderJob", "verdict"]
