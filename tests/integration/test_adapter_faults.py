"""The Tradovate adapter against the simulator's injected faults, over a real socket: what a
trader would see when Tradovate is slow, flaky, rate-limiting or expiring tokens."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from justtrades.brokers.base import (
    OrderRejected,
    OrderRequest,
    RateLimited,
    Side,
    UnknownOutcome,
)
from justtrades.brokers.tradovate import TradovateBroker, TradovateClient, TradovateCredentials
from justtrades.clock import FakeClock
from justtrades.sim.runner import SimServer
from tests.helpers import eventually


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.5, connect=1.0)) as client:
        yield client


@pytest.fixture
async def broker(sim: SimServer, http: httpx.AsyncClient, clock: FakeClock) -> TradovateBroker:
    client = TradovateClient(
        TradovateCredentials("demo", "demo"), sim.api_url, clock=clock, http=http
    )
    b = TradovateBroker(client)
    await b.connect()
    return b


async def faults(sim: SimServer, **kw: Any) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        (await c.post("/_sim/faults", json=kw)).raise_for_status()


async def account(broker: TradovateBroker) -> str:
    return (await broker.list_accounts())[0].account_id


async def test_penalty_tickets_are_waited_out_and_the_order_lands_once(
    sim: SimServer, broker: TradovateBroker, clock: FakeClock
) -> None:
    acct = await account(broker)
    await faults(sim, penalty_rate=1.0, penalty_secs=0)
    ack = await broker.place_order(OrderRequest(acct, "MNQZ6", Side.BUY, 1, "pen-1"))
    assert clock.sleeps == [0]
    assert [o.id for o in sim.exchange.tables["order"].values()] == [int(ack.order_id)]


async def test_429_is_unknown_outcome_and_later_calls_wait_for_the_cooldown(
    sim: SimServer, broker: TradovateBroker, clock: FakeClock
) -> None:
    acct = await account(broker)
    await faults(sim, http_429_rate=1.0)
    with pytest.raises(UnknownOutcome):
        await broker.place_order(OrderRequest(acct, "MNQZ6", Side.BUY, 1, "r-1"))
    before = sim.state.requests
    with pytest.raises(RateLimited):
        await broker.get_positions(acct)
    assert sim.state.requests == before  # nothing sent while cooling down
    await faults(sim)
    clock.advance(15)
    assert await broker.get_positions(acct) == []


async def test_expired_tokens_are_replaced_without_the_caller_noticing(
    sim: SimServer, broker: TradovateBroker
) -> None:
    acct = await account(broker)
    await faults(sim, expire_tokens=True)
    ack = await broker.place_order(OrderRequest(acct, "MNQZ6", Side.SELL, 1, "t-1"))
    assert ack.order_id
    assert (await broker.get_position(acct, "MNQZ6")).net_pos == -1


async def test_token_renewal_with_a_short_lived_token(
    sim: SimServer, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    sim.state.tokens.ttl_secs = 60
    client = TradovateClient(
        TradovateCredentials("demo", "demo"),
        sim.api_url,
        clock=clock,
        http=http,
        renew_before_secs=10,
    )
    broker = TradovateBroker(client)
    first = (await broker.list_accounts())[0]
    token = client.access_token
    clock.advance(55)
    assert (await broker.list_accounts())[0] == first
    assert client.access_token != token
    clock.advance(55)
    assert (await broker.list_accounts())[0] == first


async def test_a_timeout_is_unknown_and_reconciliation_finds_the_order(
    sim: SimServer, broker: TradovateBroker
) -> None:
    acct = await account(broker)
    await faults(sim, latency_ms=900)
    with pytest.raises(UnknownOutcome) as info:
        await broker.place_order(OrderRequest(acct, "MNQZ6", Side.BUY, 2, "slow-1"))
    assert info.value.client_order_id == "slow-1"
    await faults(sim)
    found = await eventually(lambda: broker.find_order(acct, "slow-1"))
    assert found is not None and found.status == "Filled" and found.qty == 2


async def test_a_5xx_after_processing_is_unknown_and_never_resent(
    sim: SimServer, broker: TradovateBroker
) -> None:
    acct = await account(broker)
    await faults(sim, error_rate=1.0, error_after_processing=True)
    with pytest.raises(UnknownOutcome):
        await broker.place_order(OrderRequest(acct, "MNQZ6", Side.BUY, 1, "lost-1"))
    await faults(sim)
    assert len(sim.exchange.tables["order"]) == 1  # the order exists, sent exactly once
    assert (await broker.find_order(acct, "lost-1")) is not None


async def test_a_5xx_before_processing_leaves_nothing(
    sim: SimServer, broker: TradovateBroker
) -> None:
    acct = await account(broker)
    await faults(sim, error_rate=1.0)
    with pytest.raises(UnknownOutcome):
        await broker.place_order(OrderRequest(acct, "MNQZ6", Side.BUY, 1, "lost-2"))
    await faults(sim)
    assert await broker.find_order(acct, "lost-2") is None


async def test_injected_rejection_reason_reaches_the_caller(
    sim: SimServer, broker: TradovateBroker
) -> None:
    acct = await account(broker)
    await faults(sim, reject_reason="MaxPosLimitReached")
    with pytest.raises(OrderRejected) as info:
        await broker.place_order(OrderRequest(acct, "MNQZ6", Side.BUY, 1, "rej-1"))
    assert info.value.reason == "MaxPosLimitReached"
    assert sim.exchange.tables["order"] == {}


async def test_latency_is_added(sim: SimServer, broker: TradovateBroker) -> None:
    acct = await account(broker)
    await faults(sim, latency_ms=150)
    started = time.perf_counter()
    await broker.get_position(acct, "MNQZ6")
    assert time.perf_counter() - started >= 0.14
