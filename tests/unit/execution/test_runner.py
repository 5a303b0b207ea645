"""The account runner and the dispatcher on the in-memory store and the paper broker: no
database, no sockets, the injected clock."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from justtrades.brokers.base import BracketAck, BracketRequest, RateLimited, UnknownOutcome
from justtrades.brokers.paper import PaperBroker
from justtrades.brokers.registry import ConnectionSpec
from justtrades.clock import FakeClock
from justtrades.execution.intake import SignalJob, StrategyEntry
from justtrades.execution.lanes import Lanes
from justtrades.execution.runner import AccountRunner
from justtrades.execution.settings import RiskSettings
from justtrades.execution.signal import parse_signal
from justtrades.execution.store import MemoryStore
from justtrades.execution.timing import FanOutTiming, past_age
from justtrades.execution.traders import TraderEntry, trader_jobs
from justtrades.metrics import Metrics
from justtrades.models import Signal

SETTINGS = RiskSettings.model_validate(
    {"tp_targets": [{"ticks": 40, "trim": 100}], "trim_units": "percent"}
)


class Limited(PaperBroker):
    """The paper broker behind a connection that is cooling down for its first brackets."""

    def __init__(self, clock: FakeClock, cooldowns: list[float]) -> None:
        super().__init__(clock=clock)
        self.cooldowns = cooldowns
        self.brackets = 0

    async def place_bracket(self, request: BracketRequest) -> BracketAck:
        if self.cooldowns:
            raise RateLimited(self.cooldowns.pop(0))
        self.brackets += 1
        return await super().place_bracket(request)


class Registry:
    def __init__(self, broker: PaperBroker) -> None:
        self.broker = broker

    def get(self, spec: ConnectionSpec) -> PaperBroker:
        return self.broker


async def setup(
    clock: FakeClock, broker: PaperBroker
) -> tuple[MemoryStore, AccountRunner, SignalJob, Any]:
    account = (await broker.list_accounts())[0].account_id
    store = MemoryStore()
    signal = Signal(user_id=1, strategy_id=1, received_at=clock.now(), body="buy", body_hash="x")
    signal.status = "accepted"
    signal_id = await store.add_signal(signal)
    intent = parse_signal(b'{"action": "buy", "ticker": "MNQ1!"}')
    strategy = StrategyEntry(1, 1, "s", "t" * 20, True, "MNQ1!", SETTINGS)
    spec = ConnectionSpec(1, 1, "paper", "demo", None, "")
    entry = TraderEntry(7, 3, account, True, Decimal(1), RiskSettings(), spec, ("paper", account))
    [tj] = trader_jobs(strategy, intent, [entry], clock.now().date())
    assert tj.contract is not None
    broker.set_price(tj.contract.name, Decimal("20000"))
    runner = AccountRunner(store, Registry(broker), clock, 30, Metrics())  # type: ignore[arg-type]
    job = SignalJob(signal_id, 1, clock.now(), intent)
    return store, runner, job, tj


async def test_an_order_refused_for_a_rate_limit_waits_out_the_cooldown_and_is_sent_once() -> None:
    clock = FakeClock()
    broker = Limited(clock, [5.0])
    store, runner, job, tj = await setup(clock, broker)
    timing = FanOutTiming(clock, Metrics(), job.received_at)
    status = await runner.run(job, tj, Lanes().ticket(("a",)), timing)
    assert status == "done"
    assert 5.0 in clock.sleeps and broker.brackets == 1
    [execution] = store.executions.values()
    assert execution.status == "done"
    calls = [(c.endpoint, c.outcome) for c in store.calls_of(execution.id or 0)]
    assert calls == [("get_position", "ok"), ("place_bracket", "failed"), ("place_bracket", "ok")]
    position = await broker.get_position(tj.broker_account_id, tj.contract.name)
    assert position.net_pos == 1


async def test_a_cooldown_longer_than_the_signal_may_wait_expires_it_with_the_reason() -> None:
    clock = FakeClock()
    broker = Limited(clock, [60.0])
    store, runner, job, tj = await setup(clock, broker)
    status = await runner.run(
        job, tj, Lanes().ticket(("a",)), FanOutTiming(clock, Metrics(), job.received_at)
    )
    assert status == "expired"  # the execution is skipped, for its age
    [execution] = store.executions.values()
    assert execution.status == "skipped"
    assert "cooling down for 60 s" in (execution.error or "") and "expired" in (
        execution.error or ""
    )
    assert broker.brackets == 0 and 60.0 not in clock.sleeps


async def test_the_signal_is_executing_only_when_a_traders_lane_turn_comes() -> None:
    clock = FakeClock()
    broker = PaperBroker(clock=clock)
    store, runner, job, tj = await setup(clock, broker)
    lanes = Lanes()
    ahead = lanes.ticket(("a",))  # another signal holds this account's lane
    run = asyncio.create_task(
        runner.run(job, tj, lanes.ticket(("a",)), FanOutTiming(clock, Metrics(), job.received_at))
    )
    for _ in range(5):
        await asyncio.sleep(0)
    assert store.signals[job.signal_id].status == "accepted" and not store.executions
    ahead.release()
    assert await run == "done"
    assert store.signals[job.signal_id].status == "executing"  # the dispatcher ends it
    [execution] = store.executions.values()
    assert execution.timings and execution.timings["lane_ms"] >= 0


def test_the_age_check_is_pure() -> None:
    clock = FakeClock()
    now = clock.now()
    clock.advance(10)
    assert past_age(now, clock.now(), 30) is None
    assert past_age(now, clock.now(), 30, wait_secs=15) is None
    assert past_age(now, clock.now(), 30, wait_secs=25) == 35
    assert past_age(now, clock.now(), 9.5) == 10


async def test_a_trader_disabled_while_its_signal_waited_for_its_turn_is_not_traded() -> None:
    clock = FakeClock()
    broker = PaperBroker(clock=clock)
    store, runner, job, tj = await setup(clock, broker)
    asked: list[tuple[int, int]] = []

    async def still_trades(strategy_id: int, trader_id: int) -> bool:
        asked.append((strategy_id, trader_id))
        return False

    runner.still_trades = still_trades
    timing = FanOutTiming(clock, Metrics(), job.received_at)
    assert await runner.run(job, tj, Lanes().ticket(("a",)), timing) == "skipped"
    [execution] = store.executions.values()
    assert "disabled or removed" in (execution.error or "")
    assert asked == [(job.strategy_id, tj.trader_id)] and not store.calls


class Lost(PaperBroker):
    """The first bracket's request is lost on the way: nothing placed, no answer."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.sent = 0

    async def place_bracket(self, request: BracketRequest) -> BracketAck:
        self.sent += 1
        if self.sent == 1:
            raise UnknownOutcome("POST /orderStrategy/startorderstrategy: no answer")
        return await super().place_bracket(request)


async def test_an_order_the_broker_never_showed_is_never_sent_again() -> None:
    clock = FakeClock()
    broker = Lost(clock)
    store, runner, job, tj = await setup(clock, broker)
    timing = FanOutTiming(clock, Metrics(), job.received_at)
    assert await runner.run(job, tj, Lanes().ticket(("a",)), timing) == "failed"
    [execution] = store.executions.values()
    calls = [(c.endpoint, c.outcome) for c in store.calls_of(execution.id or 0)]
    assert calls == [("get_position", "ok"), ("place_bracket", "unknown")]
    assert "not found after 5 look-ups" in (store.calls_of(execution.id or 0)[1].error or "")
    assert broker.sent == 1


async def test_a_flatten_whose_position_cannot_be_read_is_not_taken_as_undone() -> None:
    """Every confirming read failed: the position from before the flatten proves nothing
    (found by a review: it was recorded "did not happen" and sent again)."""
    from justtrades.brokers.base import BrokerUnavailable, FlattenAck

    class Blind(PaperBroker):
        def __init__(self, clock: FakeClock) -> None:
            super().__init__(clock=clock)
            self.flattens, self.blind = 0, False

        async def flatten(self, account_id: str, symbol: str) -> FlattenAck:
            self.flattens += 1
            await super().flatten(account_id, symbol)
            self.blind = True
            raise UnknownOutcome("POST /order/liquidateposition: no answer")

        async def get_position(self, account_id: str, symbol: str) -> Any:
            if self.blind:
                raise BrokerUnavailable("GET /position/deps: HTTP 500")
            return await super().get_position(account_id, symbol)

    clock = FakeClock()
    broker = Blind(clock)
    store, runner, job, tj = await setup(clock, broker)
    timing = FanOutTiming(clock, Metrics(), job.received_at)
    assert await runner.run(job, tj, Lanes().ticket(("a",)), timing) == "done"  # an entry
    broker.blind = False
    close = SignalJob(job.signal_id, 1, clock.now(), parse_signal(b"close MNQ1!", "text/plain"))
    assert await runner.run(close, tj, Lanes().ticket(("a",)), timing) == "failed"
    flatten = [c for c in store.calls.values() if c.endpoint == "flatten"]
    assert [c.outcome for c in flatten] == ["unknown"] and broker.flattens == 1
