"""The executor against a fake broker: what is sent, in which order, and when it stops."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from justtrades.brokers.base import (
    BracketAck,
    BracketLeg,
    BracketRequest,
    FlattenAck,
    OrderRejected,
    Position,
    Side,
)
from justtrades.execution.executor import execute
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
