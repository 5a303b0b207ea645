"""Shared fixtures for the exchange-core tests: a fresh deterministic exchange on a FakeClock."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from justtrades.clock import FakeClock
from justtrades.sim.entities import Contract, Order
from justtrades.sim.exchange import Exchange, OrderSpec


@pytest.fixture
def clock() -> FakeClock:
    """Starts 2026-11-27 15:00 UTC (09:00 Chicago, a Friday)."""
    return FakeClock()


@pytest.fixture
def ex(clock: FakeClock) -> Exchange:
    return Exchange(clock, seed=1, accounts=3)


@pytest.fixture
def accounts(ex: Exchange) -> list[int]:
    return list(ex.tables["account"])


@pytest.fixture
def acct(accounts: list[int]) -> int:
    return accounts[0]


@pytest.fixture
def acct2(accounts: list[int]) -> int:
    return accounts[1]


@pytest.fixture
def mnq(ex: Exchange) -> Contract:
    """MNQZ6, the MNQ front month on the FakeClock's start date, last price 21000."""
    contract = ex.contract("MNQ1!")
    assert contract.name == "MNQZ6"
    assert ex.last_price(contract) == Decimal("21000")
    return contract


@pytest.fixture
def market(ex: Exchange) -> Callable[..., Order]:
    """`market(account, symbol, signed_qty)`: a market order, Buy when qty > 0, Sell when < 0."""

    def place(account: int, symbol: str, qty: int) -> Order:
        action = "Buy" if qty > 0 else "Sell"
        order = ex.place_order(account, symbol, abs(qty), OrderSpec(action, "Market"))
        assert order.ordStatus == "Filled"
        return order

    return place
