"""The executor against a fake broker: what is sent, in which order, and when it stops."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from justtrades.brokers.base import (
    AuthFailed,
    BracketAck,
    BracketLeg,
    BracketRequest,
    BrokerUnavailable,
    FlattenAck,
    OrderRejected,
    OrderReport,
    OrderType,
    Position,
    RateLimited,
    Side,
    UnknownOutcome,
)
from justtrades.clock import FakeClock
from justtrades.execution.executor import execute, read_with_retries
from justtrades.execution.planner import Enter, Flatten, Plan

REVERSE = Plan(
    "MNQZ6", (Flatten("opposite"), Enter(Side.SELL, 1, (BracketLeg(1, Decimal(10)),))), "reverse"
)


class FakeBroker:
    """Records what it is asked; flatten may fail, or be acknowledged without closing."""

    name = "fake"

    def __init__(self, flatten_closes: bool = True, flatten_rejects: bool = False) -> None:
        self.sent: list[str] = []
        self.net = 2
        self.flatten_closes = flatten_closes
        self.flatten_rejects = flatten_rejects

    async def flatten(self, account_id: str, symbol: str) -> FlattenAck:
        self.sent.append("flatten")
        if self.flatten_rejects:
            raise OrderRejected("TooLate", "market closed")
        if self.flatten_closes:
            self.net = 0
        return FlattenAck("9")

    async def get_position(self, account_id: str, symbol: str) -> Position:
        return Position(account_id, symbol, self.net, None)

    async def place_bracket(self, request: BracketRequest) -> BracketAck:
        self.sent.append(f"bracket {request.side.value} {request.qty}")
        return BracketAck(request.client_order_id, strategy_id="1")


class ListLog:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def started(self, seq: int, endpoint: str, cid: str | None, request: Any) -> int:
        self.calls.append((endpoint, "sent"))
        return len(self.calls)

    async def finished(
        self, call_id: int, outcome: str, response: Any, error: Any, latency_ms: float
    ) -> None:
        self.calls[call_id - 1] = (self.calls[call_id - 1][0], outcome)

    async def read(
        self,
        seq: int,
        endpoint: str,
        request: Any,
        outcome: str,
        response: Any,
        error: Any,
        latency_ms: float,
    ) -> None:
        self.calls.append((endpoint, outcome))


async def run(broker: FakeBroker, log: ListLog) -> Any:
    async def confirm_flat() -> int:
        return (await broker.get_position("1", "MNQZ6")).net_pos

    return await execute(REVERSE, broker, "1", log, lambda seq: f"c{seq}", None, 1, confirm_flat)  # type: ignore[arg-type]


async def test_a_reversal_enters_only_after_the_broker_shows_flat() -> None:
    broker, log = FakeBroker(), ListLog()
    result = await run(broker, log)
    assert result.ok
    assert broker.sent == ["flatten", "bracket Sell 1"]
    assert log.calls == [("flatten", "ok"), ("get_position", "ok"), ("place_bracket", "ok")]


async def test_a_flatten_acknowledged_but_not_done_stops_the_entry() -> None:
    broker, log = FakeBroker(flatten_closes=False), ListLog()
    result = await run(broker, log)
    assert not result.ok and "position still 2" in result.summary
    assert broker.sent == ["flatten"]  # never a new position on top of the old one
    assert log.calls[-1] == ("get_position", "failed")


async def test_a_rejected_flatten_stops_the_plan() -> None:
    broker, log = FakeBroker(flatten_rejects=True), ListLog()
    result = await run(broker, log)
    assert not result.ok and "rejected" in result.summary
    assert broker.sent == ["flatten"]
    assert log.calls == [("flatten", "rejected")]


class FlakyReads:
    """A position read that fails `failures` times with `error`, then answers."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return {"net_pos": 0}


async def test_a_read_is_retried_after_transient_failures_each_attempt_recorded() -> None:
    clock, log = FakeClock(), ListLog()
    read = FlakyReads(2, BrokerUnavailable("get_position: HTTP 500"))
    response, error, next_seq = await read_with_retries(
        log, 1, "get_position", {}, read, clock.sleep
    )
    assert response == {"net_pos": 0} and error is None and next_seq == 4
    assert log.calls == [
        ("get_position", "failed"),
        ("get_position", "failed"),
        ("get_position", "ok"),
    ]
    assert clock.sleeps == [0.1, 0.3]


async def test_a_read_gives_up_after_five_retries() -> None:
    clock, log = FakeClock(), ListLog()
    read = FlakyReads(10, BrokerUnavailable("timeout"))
    _, error, next_seq = await read_with_retries(log, 1, "get_position", {}, read, clock.sleep)
    assert isinstance(error, BrokerUnavailable) and read.calls == 6 and next_seq == 7
    assert clock.sleeps == [0.1, 0.3, 0.9, 2.0, 4.0]


async def test_a_definitive_failure_is_not_retried() -> None:
    clock, log = FakeClock(), ListLog()
    read = FlakyReads(10, AuthFailed("bad password"))
    _, error, _ = await read_with_retries(log, 1, "get_position", {}, read, clock.sleep)
    assert isinstance(error, AuthFailed) and read.calls == 1 and clock.sleeps == []


class UnsureBroker(FakeBroker):
    """Takes the bracket (or the flatten) but its answer is lost; shows the order after
    `visible_after` look-ups (never, if None)."""

    def __init__(
        self, visible_after: int | None, lost: str = "place_bracket", status: str = "Filled"
    ) -> None:
        super().__init__()
        self.visible_after, self.lost, self.lookups = visible_after, lost, 0
        self.status = status

    async def place_bracket(self, request: BracketRequest) -> BracketAck:
        ack = await super().place_bracket(request)
        if self.lost == "place_bracket":
            raise UnknownOutcome("POST /order/placeoso: HTTP 500", request.client_order_id)
        return ack

    async def flatten(self, account_id: str, symbol: str) -> FlattenAck:
        await super().flatten(account_id, symbol)
        if self.lost == "flatten":
            raise UnknownOutcome("POST /order/liquidateposition: no answer (ReadTimeout)")
        return FlattenAck("9")

    async def find_order(self, account_id: str, client_order_id: str) -> OrderReport | None:
        self.lookups += 1
        if self.visible_after is None or self.lookups < self.visible_after:
            return None
        return OrderReport(
            "77",
            account_id,
            "MNQZ6",
            Side.SELL,
            1,
            OrderType.MARKET,
            self.status,
            client_order_id=client_order_id,
        )


async def run_unsure(broker: UnsureBroker, clock: FakeClock, log: ListLog) -> Any:
    async def confirm_flat() -> int:
        return (await broker.get_position("1", "MNQZ6")).net_pos

    return await execute(  # type: ignore[arg-type]
        REVERSE, broker, "1", log, lambda seq: f"c{seq}", None, 1, confirm_flat, clock.sleep
    )


async def test_an_unknown_bracket_is_looked_up_and_recorded_as_the_broker_shows_it() -> None:
    clock, log = FakeClock(), ListLog()
    broker = UnsureBroker(visible_after=2)
    result = await run_unsure(broker, clock, log)
    assert result.ok, result.summary
    assert broker.sent == ["flatten", "bracket Sell 1"]  # never sent twice
    assert log.calls[-1] == ("place_bracket", "ok") and broker.lookups == 2
    assert clock.sleeps == [0.5, 1.0]


async def test_an_unknown_bracket_not_found_stays_unknown_and_is_never_resent() -> None:
    """Not found in 5 look-ups is not proof: a broker may take a request late (found by a
    review: re-sending it then doubled the position). It stays unknown, for late settlement."""
    clock, log = FakeClock(), ListLog()
    broker = UnsureBroker(visible_after=None)
    result = await run_unsure(broker, clock, log)
    assert not result.ok and "unknown" in result.summary
    assert broker.sent == ["flatten", "bracket Sell 1"]
    assert log.calls[-1] == ("place_bracket", "unknown") and broker.lookups == 5
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]  # bounded


class BlindBroker(UnsureBroker):
    """Its look-ups fail: first a rate-limit cooldown, then 5xx every time."""

    def __init__(self) -> None:
        super().__init__(visible_after=None)
        self.cooled = False

    async def find_order(self, account_id: str, client_order_id: str) -> OrderReport | None:
        self.lookups += 1
        if not self.cooled:
            self.cooled = True
            raise RateLimited(15, "cooling down")
        raise BrokerUnavailable("GET /order/list: HTTP 500")


async def test_a_lookup_waits_out_a_cooldown_and_an_unanswered_one_stays_unknown() -> None:
    clock, log = FakeClock(), ListLog()
    broker = BlindBroker()
    result = await run_unsure(broker, clock, log)
    assert not result.ok and "unknown" in result.summary
    assert log.calls[-1] == ("place_bracket", "unknown")  # the broker never told: unknown
    # the cooldown, then each failed look-up retried soon (3 times) before the next wait,
    # until the 60 s budget is spent
    assert clock.sleeps[:8] == [0.5, 15, 0.5, 0.2, 0.4, 0.8, 1.0, 0.2]
    assert 50 <= sum(clock.sleeps) <= 60
    assert broker.sent == ["flatten", "bracket Sell 1"]


async def test_an_unknown_flatten_is_settled_by_the_position() -> None:
    clock, log = FakeClock(), ListLog()
    broker = UnsureBroker(visible_after=None, lost="flatten")
    result = await run_unsure(broker, clock, log)
    assert result.ok, result.summary
    assert log.calls[0] == ("flatten", "ok")  # the position is flat: the flatten happened
    assert broker.sent == ["flatten", "bracket Sell 1"]


async def test_an_unknown_bracket_found_rejected_is_a_rejection_not_a_success() -> None:
    clock, log = FakeClock(), ListLog()
    broker = UnsureBroker(visible_after=1, status="Rejected")
    result = await run_unsure(broker, clock, log)
    assert not result.ok and "rejected" in result.summary
    assert log.calls[-1] == ("place_bracket", "rejected")
    assert broker.sent == ["flatten", "bracket Sell 1"]
