"""The account runner: one trader's execution of one signal, from its lane turn to its last
order. Reads the position (retried when safe, deferred through a rate-limit cooldown), plans,
executes with every call recorded, confirms a flatten before a reversal's entry, and ends the
execution record. Used by the signal engine; built to serve streams, copy trading and guards,
which run plans on accounts the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from justtrades.brokers.base import RateLimited
from justtrades.brokers.registry import BrokerRegistry, ConnectionSpec
from justtrades.clock import Clock
from justtrades.execution import client_ids, planner
from justtrades.execution.executor import TRANSIENT, execute, read_with_retries
from justtrades.execution.intake import SignalJob
from justtrades.execution.lanes import Ticket
from justtrades.execution.records import DbCallLog, Sessions, finish_execution
from justtrades.execution.settings import EffectiveSettings
from justtrades.execution.timing import FanOutTiming, Stages
from justtrades.instruments import Contract
from justtrades.logs import bind, get_logger
from justtrades.metrics import Metrics

log = get_logger("justtrades.runner")

# Waits between the reads that confirm a flatten before a reversal's entry (about 3 s in all).
CONFIRM_FLAT_DELAYS_SECS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.45)


@dataclass(frozen=True)
class TraderJob:
    trader_id: int
    account_id: int
    broker_account_id: str
    connection: ConnectionSpec
    settings: EffectiveSettings | None
    contract: Contract | None
    problem: str | None  # why this trader cannot trade this signal
    broker_key: tuple[str, ...] = ()  # the broker account itself, whatever row names it


class AccountRunner:
    def __init__(
        self,
        writes: Sessions,
        registry: BrokerRegistry,
        clock: Clock,
        max_age_secs: float,
        metrics: Metrics,
    ) -> None:
        self.writes = writes
        self.registry = registry
        self.clock = clock
        self.max_age_secs = max_age_secs
        self.metrics = metrics

    async def run(
        self,
        job: SignalJob,
        tj: TraderJob,
        ticket: Ticket | None,
        execution_id: int,
        timing: FanOutTiming,
    ) -> str:
        """One trader's execution of one signal: its lane turn, the position, the plan, the
        orders; always ends its execution record, whatever happens."""
        stages = Stages(self.clock, job.received_at)
        with bind(signal_id=job.signal_id, trader_id=tj.trader_id, account_id=tj.account_id):
            try:
                return await self._run(job, tj, ticket, execution_id, timing, stages)
            finally:
                stages.observe(self.metrics)

    async def _run(
        self,
        job: SignalJob,
        tj: TraderJob,
        ticket: Ticket | None,
        execution_id: int,
        timing: FanOutTiming,
        stages: Stages,
    ) -> str:
        if ticket is None or tj.problem or tj.settings is None or tj.contract is None:
            if ticket is not None:
                ticket.release()
            await self._end(execution_id, "failed", tj.problem or "cannot trade", stages)
            return "failed"
        try:
            async with ticket:
                stages.mark("lane")
                return await self._trade(
                    job, tj, execution_id, tj.settings, tj.contract, timing, stages
                )
        except Exception as e:  # an adapter bug must not take the other traders down
            log.exception("trader execution crashed")
            error = f"internal error: {type(e).__name__}: {e}"
            await self._end(execution_id, "failed", error, stages)
            return "failed"

    async def _end(self, execution_id: int, status: str, error: str, stages: Stages) -> None:
        """An execution that ends without a plan: failed or skipped, with why."""
        await finish_execution(
            self.writes, self.clock, execution_id, status, None, None, error, stages.ms
        )

    async def _trade(
        self,
        job: SignalJob,
        tj: TraderJob,
        execution_id: int,
        eff: EffectiveSettings,
        contract: Contract,
        timing: FanOutTiming,
        stages: Stages,
    ) -> str:
        age = (self.clock.now() - job.received_at).total_seconds()
        if age > self.max_age_secs:
            await self._end(
                execution_id,
                "skipped",
                f"expired while waiting for its turn ({age:.1f} s)",
                stages,
            )
            return "skipped"
        broker = self.registry.get(tj.connection)

        def order_sent() -> None:
            timing.order_sent(tj.trader_id)
            stages.mark("first_order_sent")

        calls = DbCallLog(
            self.writes,
            self.clock,
            execution_id,
            order_sent,
            lambda: stages.mark("last_order_acknowledged", again=True),
        )
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
                self.clock.sleep,
            )
            if not isinstance(error, RateLimited):
                break
            # The connection is cooling down after a 429 (nothing was sent): wait for it while
            # the signal stays young enough, else it expires with the reason, never "failed".
            age = (self.clock.now() - job.received_at).total_seconds()
            wait = error.retry_after_secs
            if age + wait > self.max_age_secs:
                await calls.flush()
                await self._end(
                    execution_id,
                    "skipped",
                    f"expired: the broker is cooling down for {wait:.0f} s after a rate limit; "
                    f"the signal would be {age + wait:.1f} s old "
                    f"(maximum {self.max_age_secs:g} s)",
                    stages,
                )
                return "skipped"
            log.info("waiting for the broker's rate-limit cooldown", wait_secs=round(wait, 3))
            await self.clock.sleep(wait)
        if error is not None:
            await calls.flush()
            why = f"could not read the position: {error}"
            await self._end(execution_id, "failed", why, stages)
            return "failed"
        age = (self.clock.now() - job.received_at).total_seconds()
        if age > self.max_age_secs:  # the reads (retries, a cooldown) took it past its age
            await calls.flush()
            why = f"expired while reading the position ({age:.1f} s old)"
            await self._end(execution_id, "skipped", why, stages)
            return "skipped"
        plan = planner.plan(job.intent, eff, position, contract, job.intent.price)
        stages.mark("planned")
        plan_json = {
            "symbol": plan.symbol,
            "note": plan.note,
            "steps": [step.describe() for step in plan.steps],
            "warnings": list(plan.warnings),
            "position": {"net_pos": position.net_pos, "avg_price": str(position.avg_price)},
            "explanation": plan.describe(),
            "settings": eff.model_dump(mode="json"),
        }
        salt = client_ids.new_salt()

        def client_id(seq: int) -> str:
            return client_ids.encode(job.signal_id, tj.trader_id, seq, salt)

        async def confirm_flat() -> int:
            """The position after a flatten, read at widening intervals until flat (about 3 s
            in all, 7 reads at most; a transient read failure is read again)."""
            net: int = position.net_pos
            for delay in (*CONFIRM_FLAT_DELAYS_SECS, None):
                try:
                    net = (await broker.get_position(tj.broker_account_id, contract.name)).net_pos
                except TRANSIENT:
                    pass
                else:
                    if net == 0:
                        return 0
                if delay is not None:
                    await self.clock.sleep(delay)
            return net

        result = await execute(
            plan,
            broker,
            tj.broker_account_id,
            calls,
            client_id,
            None,
            next_seq,
            confirm_flat,
            self.clock.sleep,
        )
        await calls.flush()  # the position read, when no order followed it
        status = "done" if result.ok else "failed"
        await finish_execution(
            self.writes,
            self.clock,
            execution_id,
            status,
            plan_json,
            result.summary,
            None if result.ok else result.summary,
            stages.ms,
        )
        log.info("execution finished", status=status, summary=result.summary)
        return status
