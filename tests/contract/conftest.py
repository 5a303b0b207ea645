"""One Broker contract suite, run unchanged against every broker that can trade here:
the paper broker (in process) and the Tradovate adapter talking to the simulator over a real
socket. `venue.set_price` moves the market the broker trades against."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from justtrades.brokers.base import Broker
from justtrades.brokers.paper import PaperBroker
from justtrades.brokers.tradovate import TradovateBroker, TradovateClient, TradovateCredentials
from justtrades.brokers.tradovate.client import HttpPool
from justtrades.clock import FakeClock
from justtrades.sim.exchange import Exchange
from justtrades.sim.runner import SimServer
from justtrades.sim.server import create_sim_app

SYMBOL = "MNQZ6"  # the front month on the FakeClock's date


@dataclass
class Venue:
    kind: str
    broker: Broker
    accounts: list[str]
    control: Any  # PaperBroker or an httpx client on the simulator's control API

    async def set_price(self, price: str, symbol: str = SYMBOL) -> None:
        if isinstance(self.control, PaperBroker):
            self.control.set_price(symbol, Decimal(price))
        else:
            r = await self.control.post("/_sim/price", json={"symbol": symbol, "price": price})
            r.raise_for_status()


@pytest.fixture(params=["paper", "tradovate-sim"])
async def venue(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[Venue]:
    if request.param == "paper":
        paper = PaperBroker(Exchange(clock, seed=1, accounts=3))
        await paper.connect()
        accounts = [a.account_id for a in await paper.list_accounts()]
        yield Venue("paper", paper, accounts, paper)
        return
    async with SimServer(create_sim_app(Exchange(clock, seed=1, accounts=3))) as server:
        pool = HttpPool()
        client = TradovateClient(
            TradovateCredentials("demo", "demo"), server.api_url, clock=clock, pool=pool
        )
        broker = TradovateBroker(client)
        await broker.connect()
        accounts = [a.account_id for a in await broker.list_accounts()]
        async with httpx.AsyncClient(base_url=server.base_url) as control:
            yield Venue("tradovate-sim", broker, accounts, control)
        await pool.aclose()
