"""The exchange's state: reference data, accounts, cash, positions, ids and events.

`ExchangeState` holds every entity in `tables` (Tradovate entity type -> id -> entity), hands
out ids from one counter, and publishes each change to `listeners` as a Tradovate `props` event.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from justtrades.clock import Clock
from justtrades.instruments import (
    UnknownInstrument,
    price_to_ticks,
    resolve,
    spec_for,
    ticks_to_price,
)
from justtrades.sessions import trade_date
from justtrades.sim import ledger
from justtrades.sim.entities import (
    JSON,
    Account,
    CashBalance,
    Contract,
    Entity,
    Order,
    OrderVersion,
    Position,
    User,
)
from justtrades.sim.matching import Book
from justtrades.sim.refdata import build_refdata, start_price
from justtrades.sim.strategy import Leg

ORDER_TYPES = ("Market", "Limit", "Stop", "StopLimit", "TrailingStop")
ENTITY_TYPES = (
    "user",
    "account",
    "product",
    "contractMaturity",
    "contract",
    "order",
    "orderVersion",
    "command",
    "fill",
    "fillPair",
    "position",
    "cashBalance",
    "orderStrategy",
    "orderStrategyLink",
)
Listener = Callable[[str, str, JSON], None]


class Rejected(Exception):
    """A definitive business failure: `reason` is a Tradovate failureReason."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(f"{reason}: {text}")
        self.reason = reason
        self.text = text


class StrategyRejected(Exception):
    """A startorderstrategy failure, reported as `errorText`."""


@dataclass(frozen=True)
class OrderSpec:
    """The order-version fields of a new order or a bracket child (prices in price units)."""

    action: str
    order_type: str
    price: Decimal | None = None
    stop_price: Decimal | None = None
    peg_difference: Decimal | None = None
    time_in_force: str | None = None
    text: str | None = None
    cl_ord_id: str | None = None


class ExchangeState:
    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 1,
        accounts: int = 3,
        user: str = "demo",
        password: str = "demo",
        starting_cash: Decimal = Decimal(50_000),
        contracts_per_root: int = 3,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self._setup = (accounts, user, password, starting_cash, contracts_per_root)
        self.listeners: list[Listener] = []
        self.price_listeners: list[Callable[[int], None]] = []  # told a contract's new price
        self.reset()

    def reset(self) -> None:
        n_accounts, user, password, cash, per_root = self._setup
        self.rng = random.Random(self.seed)
        self._next_id = 1000
        now = self.clock.now()
        self.trade_date: date = trade_date(now)
        self.tables: dict[str, dict[int, Any]] = {name: {} for name in ENTITY_TYPES}
        products, maturities, contracts = build_refdata(now.date(), self._new_id, per_root)
        for kind, rows in (
            ("product", products),
            ("contractMaturity", maturities),
            ("contract", contracts),
        ):
            self.tables[kind].update({r.id: r for r in rows})
        self.contracts_by_name: dict[str, Contract] = {c.name: c for c in contracts}
        self.prices: dict[int, int] = {
            c.id: price_to_ticks(start_price(c.root), c.providerTickSize) for c in contracts
        }
        self._positions: dict[tuple[int, int], Position] = {}
        self._children: dict[int, list[int]] = {}
        self._live: dict[int, dict[int, Order]] = {}  # contract id -> working/suspended orders
        self._strategy_order_ids: dict[int, list[int]] = {}
        self._books: dict[int, Book] = {}  # order id -> its version in ticks (matching cache)
        self._fresh: set[int] = set()
        self._used_cl_ord_ids: set[tuple[int, str]] = set()
        self._strategy_legs: dict[int, list[Leg]] = {}  # strategies whose entry has not filled
        self.add_user(user, password, n_accounts, cash)

    def add_user(self, name: str, password: str, accounts: int, cash: Decimal) -> User:
        now = self.clock.now()
        user = User(self._new_id(), name, f"{name}@sim.local", now, password=password)
        self.tables["user"][user.id] = user
        for i in range(1, accounts + 1):
            acct = Account(self._new_id(), f"{name.upper()}{i:05d}"[:20], user.id, now)
            acct.autoLiqProfileId = acct.id
            self.tables["account"][acct.id] = acct
            bal = CashBalance(self._new_id(), acct.id, now, self.trade_date, cash)
            self.tables["cashBalance"][bal.id] = bal
        return user

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _emit(self, entity_type: str, event_type: str, entity: Entity) -> None:
        if self.listeners:
            payload = entity.to_json()
            for listener in self.listeners:
                listener(entity_type, event_type, payload)

    def _store(self, kind: str, entity: Entity) -> None:
        self.tables[kind][entity.id] = entity
        self._emit(kind, "Created", entity)

    def user_by_name(self, name: str) -> User | None:
        return next((u for u in self.tables["user"].values() if u.name == name), None)

    def accounts_of(self, user_id: int) -> list[Account]:
        return [a for a in self.tables["account"].values() if a.userId == user_id]

    def account(self, account_id: int, user_id: int | None = None) -> Account:
        acct: Account | None = self.tables["account"].get(account_id)
        if acct is None or (user_id is not None and acct.userId != user_id):
            raise Rejected("UnknownReason", "Access is denied")
        return acct

    def contract(self, symbol: str) -> Contract:
        """A listed contract by Tradovate name, or by root / continuous symbol (front month)."""
        found = self.contracts_by_name.get(symbol.upper())
        if found is not None:
            return found
        try:
            name = resolve(symbol, self.clock.now().date()).name
        except UnknownInstrument:
            name = ""
        found = self.contracts_by_name.get(name)
        if found is None:
            raise Rejected("UnknownReason", "Access is denied")
        return found

    def version(self, order: Order) -> OrderVersion:
        v: OrderVersion = self.tables["orderVersion"][order.version_id]
        return v

    def position(self, account_id: int, contract_id: int) -> Position:
        key = (account_id, contract_id)
        pos = self._positions.get(key)
        if pos is None:
            now = self.clock.now()
            pos = Position(self._new_id(), account_id, contract_id, now, self.trade_date, lots=[])
            self._positions[key] = pos
            self._store("position", pos)
        return pos

    def cash(self, account_id: int) -> CashBalance:
        bal: CashBalance = next(
            b for b in self.tables["cashBalance"].values() if b.accountId == account_id
        )
        return bal

    def last_price(self, contract: Contract) -> Decimal:
        return ticks_to_price(self.prices[contract.id], contract.providerTickSize)

    def _point_value(self, contract: Contract) -> Decimal:
        return spec_for(contract.root).point_value

    def _roll_session(self) -> None:
        """At 17:00 Chicago: realized P&L resets; positions carry over as prevPos."""
        today = trade_date(self.clock.now())
        if today == self.trade_date:
            return
        new_week = today.isocalendar()[:2] != self.trade_date.isocalendar()[:2]
        self.trade_date = today
        for bal in self.tables["cashBalance"].values():
            bal.realizedPnL = Decimal(0)
            if new_week:
                bal.weekRealizedPnL = Decimal(0)
            bal.tradeDate = today
        for pos in self._positions.values():
            pos.prevPos, pos.prevPrice = pos.netPos, pos.netPrice
            pos.bought, pos.sold = 0, 0
            pos.boughtValue, pos.soldValue = Decimal(0), Decimal(0)
            pos.tradeDate = today

    def cash_snapshot(self, account_id: int, user_id: int | None = None) -> JSON:
        self._roll_session()
        self.account(account_id, user_id)
        bal = self.cash(account_id)
        open_pnl = Decimal(0)
        for (acct, contract_id), pos in self._positions.items():
            if acct == account_id and pos.netPos:
                contract = self.tables["contract"][contract_id]
                open_pnl += ledger.open_pnl(
                    pos, self.last_price(contract), self._point_value(contract)
                )
        return {
            "totalCashValue": float(bal.amount),
            "netLiq": float(bal.amount + open_pnl),
            "realizedPnL": float(bal.realizedPnL),
            "weekRealizedPnL": float(bal.weekRealizedPnL),
            "openPnL": float(open_pnl),
            "totalPnL": float(bal.realizedPnL + open_pnl),
            "initialMargin": 0.0,
            "maintenanceMargin": 0.0,
        }

    def order_json(self, order: Order) -> JSON:
        """An order with its current version and contract name, for the control API."""
        v = self.version(order)
        out = order.to_json()
        out.update({k: val for k, val in v.to_json().items() if k not in ("id", "orderId")})
        out["contractName"] = self.tables["contract"][order.contractId].name
        out["clOrdId"] = order.cl_ord_id
        return out
