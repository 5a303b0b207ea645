"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from justtrades.clock import FakeClock
from justtrades.sim.exchange import Exchange
from justtrades.sim.runner import SimServer
from justtrades.sim.server import create_sim_app

pytest_plugins = ["tests.dbfixtures"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[SimServer]:
    """The Tradovate simulator on a real localhost socket, in this event loop."""
    exchange = Exchange(clock, seed=1, accounts=3)
    async with SimServer(create_sim_app(exchange)) as server:
        yield server
