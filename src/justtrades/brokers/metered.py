"""A broker that times every call: each contract method of the broker inside, observed as
(endpoint, outcome, seconds) where the call is made, whatever broker it is."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from justtrades.brokers.base import (
    AccountInfo,
    BracketAck,
    BracketRequest,
    Broker,
    CashBalance,
    FillReport,
    FlattenAck,
    ModifyRequest,
    OrderAck,
    OrderReport,
    OrderRequest,
    Position,
    outcome_of,
)

T = TypeVar("T")
Observe = Callable[[str, str, str, float], None]  # broker, endpoint, outcome, seconds


class MeteredBroker:
    """Passes every call to `inner` and reports how long it took and how it ended."""

    def __init__(self, inner: Broker, observe: Observe) -> None:
        self.inner = inner
        self.name = inner.name
        self._observe = observe

    async def _timed(self, endpoint: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            result = await call
        except BaseException as e:
            self._observe(self.name, endpoint, outcome_of(e), time.perf_counter() - started)
            raise
        self._observe(self.name, endpoint, "ok", time.perf_counter() - started)
        return result

    async def connect(self) -> None:
        await self._timed("connect", self.inner.connect())

    async def close(self) -> None:
        await self.inner.close()

    async def list_accounts(self) -> list[AccountInfo]:
        return await self._timed("list_accounts", self.inner.list_accounts())

    async def get_positions(self, account_id: str) -> list[Position]:
        return await self._timed("get_positions", self.inner.get_positions(account_id))

    async def get_position(self, account_id: str, symbol: str) -> Position:
        return await self._timed("get_position", self.inner.get_position(account_id, symbol))

    async def list_orders(self, account_id: str, *, working_only: bool = True) -> list[OrderReport]:
        call = self.inner.list_orders(account_id, working_only=working_only)
        return await self._timed("list_orders", call)

    async def find_order(self, account_id: str, client_order_id: str) -> OrderReport | None:
        return await self._timed("find_order", self.inner.find_order(account_id, client_order_id))

    async def list_fills(self, account_id: str) -> list[FillReport]:
        return await self._timed("list_fills", self.inner.list_fills(account_id))

    async def get_cash_balance(self, account_id: str) -> CashBalance:
        return await self._timed("get_cash_balance", self.inner.get_cash_balance(account_id))

    async def place_order(self, request: OrderRequest) -> OrderAck:
        return await self._timed("place_order", self.inner.place_order(request))

    async def place_bracket(self, request: BracketRequest) -> BracketAck:
        return await self._timed("place_bracket", self.inner.place_bracket(request))

    async def cancel_order(self, account_id: str, order_id: str) -> None:
        await self._timed("cancel_order", self.inner.cancel_order(account_id, order_id))

    async def modify_order(self, request: ModifyRequest) -> None:
        await self._timed("modify_order", self.inner.modify_order(request))

    async def flatten(self, account_id: str, symbol: str) -> FlattenAck:
        return await self._timed("flatten", self.inner.flatten(account_id, symbol))
