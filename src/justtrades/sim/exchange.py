"""The exchange core: accounts, orders, brackets, fills, positions and cash. No I/O.

Deterministic: ids come from one counter, random walks from a seeded generator, and time from an
injected clock. Every operation either completes or raises `Rejected` (a definitive business
failure, reported by the server as Tradovate does: HTTP 200 with `failureReason`).
Each change is also published as a Tradovate `props` event to `listeners`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from justtrades.clock import Clock
from justtrades.instruments import (
    UnknownInstrument,
    is_on_tick,
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
    Command,
    Contract,
    Entity,
    Fill,
    Order,
    OrderStrategy,
    OrderStrategyLink,
    OrderVersion,
    Position,
    User,
)
from justtrades.sim.matching import Book, execution_price, trailed_stop
from justtrades.sim.refdata import build_refdata, start_price
from justtrades.sim.strategy import InvalidParams, Leg, parse_params

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


class Exchange:
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
        self.reset()

    # --- state ---------------------------------------------------------------------------------

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
        new_week = today.isocalendar()[1] != self.trade_date.isocalendar()[1]
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

    # --- market --------------------------------------------------------------------------------

    def set_price(self, symbol: str, price: Decimal) -> list[Fill]:
        """Move a market to `price` (on its tick grid) and execute what it reaches."""
        contract = self.contract(symbol)
        tick = contract.providerTickSize
        if price <= 0 or not is_on_tick(price, tick):
            raise ValueError(f"price {price} is not on {contract.name}'s tick grid ({tick})")
        self._roll_session()
        before = len(self.tables["fill"])
        self.prices[contract.id] = price_to_ticks(price, tick)
        self._run_book(contract)
        return list(self.tables["fill"].values())[before:]

    def random_walk(self, symbol: str, steps: int, max_step_ticks: int = 4) -> Decimal:
        """Move a market `steps` times by a seeded random number of ticks."""
        contract = self.contract(symbol)
        for _ in range(steps):
            step = self.rng.randint(-max_step_ticks, max_step_ticks)
            ticks = max(1, self.prices[contract.id] + step)
            self.set_price(contract.name, ticks_to_price(ticks, contract.providerTickSize))
        return self.last_price(contract)

    # --- orders --------------------------------------------------------------------------------

    def _check(self, contract: Contract, qty: int, spec: OrderSpec, *, child: bool) -> None:
        if spec.action not in ("Buy", "Sell"):
            raise Rejected("UnknownReason", f"action must be Buy or Sell, not {spec.action!r}")
        if spec.order_type not in ORDER_TYPES:
            raise Rejected("Unsupported", f"orderType {spec.order_type!r} is not supported")
        if qty < 1:
            raise Rejected("UnknownReason", "orderQty must be at least 1")
        kind, tick = spec.order_type, contract.providerTickSize
        if kind in ("Limit", "StopLimit") and spec.price is None:
            raise Rejected("InvalidPrice", f"price is required for {kind}")
        if kind in ("Stop", "StopLimit") and spec.stop_price is None:
            raise Rejected("InvalidPrice", f"stopPrice is required for {kind}")
        if kind == "TrailingStop" and spec.stop_price is None and spec.peg_difference is None:
            raise Rejected("InvalidPrice", "TrailingStop needs stopPrice or pegDifference")
        for name, value in (
            ("price", spec.price),
            ("stopPrice", spec.stop_price),
            ("pegDifference", spec.peg_difference),
        ):
            if value is not None and ((value <= 0 and name != "pegDifference") or value < 0):
                raise Rejected("InvalidPrice", f"{name} {value} must be positive")
            if value is not None and not is_on_tick(value, tick):
                raise Rejected("InvalidPrice", f"{name} {value} is not a multiple of {tick}")
        if child or spec.stop_price is None or kind not in ("Stop", "StopLimit", "TrailingStop"):
            return
        last = self.last_price(contract)
        buy = spec.action == "Buy"
        if (buy and spec.stop_price <= last) or (not buy and spec.stop_price >= last):
            side = "above" if buy else "below"
            raise Rejected("InvalidPrice", f"{spec.action} stop must be {side} the market {last}")

    def _new_order(
        self,
        account: Account,
        contract: Contract,
        qty: int,
        spec: OrderSpec,
        *,
        status: str = "Working",
        parent_id: int | None = None,
        strategy_id: int | None = None,
        is_automated: bool = False,
    ) -> Order:
        if spec.cl_ord_id is not None:
            key = (account.id, spec.cl_ord_id)
            if key in self._used_cl_ord_ids:
                raise Rejected("UnknownReason", f"clOrdId {spec.cl_ord_id!r} was already used")
            self._used_cl_ord_ids.add(key)
        now = self.clock.now()
        order = Order(
            self._new_id(),
            account.id,
            contract.id,
            now,
            spec.action,
            "PendingNew",
            parentId=parent_id,
            cl_ord_id=spec.cl_ord_id,
            is_automated=is_automated,
            strategy_id=strategy_id,
        )
        self._store("order", order)
        cmd = Command(
            self._new_id(), order.id, now, "New", "RiskPassed", spec.cl_ord_id, is_automated
        )
        self._store("command", cmd)
        self._store_version(order, cmd.id, qty, spec)
        if parent_id is not None:
            self._children.setdefault(parent_id, []).append(order.id)
        self._set_status(order, status)
        return order

    def _store_version(self, order: Order, version_id: int, qty: int, spec: OrderSpec) -> None:
        peg = spec.peg_difference
        stop = spec.stop_price
        if spec.order_type == "TrailingStop":
            last = self.last_price(self.tables["contract"][order.contractId])
            if stop is None and peg is not None:
                stop = last - peg if spec.action == "Sell" else last + peg
            elif peg is None and stop is not None:
                peg = abs(last - stop)
        version = OrderVersion(
            version_id,
            order.id,
            qty,
            spec.order_type,
            spec.price,
            stop,
            peg,
            spec.time_in_force or "Day",
            spec.text,
        )
        order.version_id = version_id
        self._store("orderVersion", version)

    def _set_status(self, order: Order, status: str) -> None:
        order.ordStatus = status
        if status == "Working":
            self._fresh.add(order.id)
        self._emit("order", "Updated", order)

    def place_order(
        self,
        account_id: int,
        symbol: str,
        qty: int,
        spec: OrderSpec,
        *,
        user_id: int | None = None,
        is_automated: bool = False,
    ) -> Order:
        self._roll_session()
        account, contract = self.account(account_id, user_id), self.contract(symbol)
        self._check(contract, qty, spec, child=False)
        order = self._new_order(account, contract, qty, spec, is_automated=is_automated)
        self._run_book(contract)
        return order

    def place_oso(
        self,
        account_id: int,
        symbol: str,
        qty: int,
        entry: OrderSpec,
        bracket1: OrderSpec,
        bracket2: OrderSpec | None,
        *,
        user_id: int | None = None,
        is_automated: bool = False,
    ) -> tuple[Order, Order, Order | None]:
        """Entry plus one or two children that go live when it fills (OCO-linked if two)."""
        self._roll_session()
        account, contract = self.account(account_id, user_id), self.contract(symbol)
        self._check(contract, qty, entry, child=False)
        for b in (bracket1, bracket2):
            if b is not None:
                self._check(contract, qty, b, child=True)
        parent = self._new_order(account, contract, qty, entry, is_automated=is_automated)
        kids = [
            self._new_order(
                account,
                contract,
                qty,
                b,
                status="Suspended",
                parent_id=parent.id,
                is_automated=is_automated,
            )
            for b in (bracket1, bracket2)
            if b is not None
        ]
        if len(kids) == 2:
            self._link_oco(kids[0], kids[1])
        self._run_book(contract)
        return parent, kids[0], kids[1] if len(kids) == 2 else None

    def place_oco(
        self,
        account_id: int,
        symbol: str,
        qty: int,
        first: OrderSpec,
        other: OrderSpec,
        *,
        user_id: int | None = None,
        is_automated: bool = False,
    ) -> tuple[Order, Order]:
        self._roll_session()
        account, contract = self.account(account_id, user_id), self.contract(symbol)
        self._check(contract, qty, first, child=False)
        self._check(contract, qty, other, child=False)
        a = self._new_order(account, contract, qty, first, is_automated=is_automated)
        b = self._new_order(account, contract, qty, other, is_automated=is_automated)
        self._link_oco(a, b)
        self._run_book(contract)
        return a, b

    @staticmethod
    def _link_oco(a: Order, b: Order) -> None:
        a.linkedId, b.linkedId = b.id, a.id
        b.ocoId = a.id

    def start_order_strategy(
        self,
        account_id: int,
        symbol: str,
        action: str,
        params: str,
        *,
        uuid: str | None = None,
        custom_tag50: str | None = None,
        user_id: int | None = None,
    ) -> OrderStrategy:
        self._roll_session()
        account, contract = self.account(account_id, user_id), self.contract(symbol)
        if action not in ("Buy", "Sell"):
            raise StrategyRejected("Invalid or missed parameters: action must be Buy or Sell")
        try:
            p = parse_params(params, action, contract.providerTickSize)
        except InvalidParams as e:
            raise StrategyRejected(f"Invalid or missed parameters: {e}") from None
        entry = OrderSpec(action, p.order_type, p.price, p.stop_price)
        self._check(contract, p.qty, entry, child=False)
        strategy = OrderStrategy(
            self._new_id(),
            account.id,
            self.clock.now(),
            contract.id,
            action,
            params,
            "ActiveStrategy",
            uuid=uuid,
            customTag50=custom_tag50,
        )
        self._store("orderStrategy", strategy)
        order = self._new_order(
            account, contract, p.qty, entry, strategy_id=strategy.id, is_automated=True
        )
        self._link(strategy, order, "Entry")
        self._strategy_legs[strategy.id] = p.legs
        self._run_book(contract)
        return strategy

    def _link(self, strategy: OrderStrategy, order: Order, label: str) -> None:
        link = OrderStrategyLink(self._new_id(), strategy.id, order.id, label)
        self._store("orderStrategyLink", link)

    def interrupt_order_strategy(self, strategy_id: int, user_id: int | None = None) -> None:
        strategy: OrderStrategy | None = self.tables["orderStrategy"].get(strategy_id)
        if strategy is None:
            raise StrategyRejected("Order strategy not found")
        self.account(strategy.accountId, user_id)
        for order in self._strategy_orders(strategy.id):
            if order.is_working:
                self._cancel(order)
        self._set_strategy_status(strategy, "StoppedByUser")

    def _strategy_orders(self, strategy_id: int) -> list[Order]:
        return [o for o in self.tables["order"].values() if o.strategy_id == strategy_id]

    def _set_strategy_status(self, strategy: OrderStrategy, status: str) -> None:
        strategy.status = status
        self._emit("orderStrategy", "Updated", strategy)

    def cancel_order(self, order_id: int, user_id: int | None = None) -> Command:
        order = self._order(order_id, user_id)
        if not order.is_working:
            raise Rejected("TooLate", f"order {order_id} is {order.ordStatus}")
        cmd = Command(
            self._new_id(), order.id, self.clock.now(), "Cancel", "AtExecution", None, True
        )
        self._store("command", cmd)
        self._cancel(order)
        if order.strategy_id is not None:
            self._finish_strategy_if_done(order.strategy_id, "StoppedByUser")
        return cmd

    def _order(self, order_id: int, user_id: int | None) -> Order:
        order: Order | None = self.tables["order"].get(order_id)
        if order is None:
            raise Rejected("UnknownReason", f"order {order_id} not found")
        self.account(order.accountId, user_id)
        return order

    def _cancel(self, order: Order) -> None:
        self._set_status(order, "Canceled")
        self._fresh.discard(order.id)
        for child_id in self._children.get(order.id, ()):
            child = self.tables["order"][child_id]
            if child.is_working:
                self._cancel(child)

    def modify_order(
        self, order_id: int, qty: int, spec: OrderSpec, user_id: int | None = None
    ) -> Command:
        self._roll_session()
        order = self._order(order_id, user_id)
        if not order.is_working:
            raise Rejected("TooLate", f"order {order_id} is {order.ordStatus}")
        contract: Contract = self.tables["contract"][order.contractId]
        spec = OrderSpec(
            order.action,
            spec.order_type,
            spec.price,
            spec.stop_price,
            spec.peg_difference,
            spec.time_in_force,
            spec.text,
            spec.cl_ord_id,
        )
        self._check(contract, qty, spec, child=order.ordStatus == "Suspended")
        cmd = Command(
            self._new_id(),
            order.id,
            self.clock.now(),
            "Modify",
            "AtExecution",
            spec.cl_ord_id,
            order.is_automated,
        )
        self._store("command", cmd)
        self._store_version(order, cmd.id, qty, spec)
        order.triggered = False
        if order.ordStatus == "Working":
            self._fresh.add(order.id)
        self._run_book(contract)
        return cmd

    def liquidate_position(
        self, account_id: int, contract_id: int, user_id: int | None = None
    ) -> Order | None:
        """Cancel the contract's working orders on the account, then close it at market."""
        self._roll_session()
        account = self.account(account_id, user_id)
        contract: Contract | None = self.tables["contract"].get(contract_id)
        if contract is None:
            raise Rejected("UnknownReason", "Access is denied")
        for order in list(self.tables["order"].values()):
            mine = order.accountId == account.id and order.contractId == contract.id
            if mine and order.is_working:
                self._cancel(order)
                if order.strategy_id is not None:
                    self._finish_strategy_if_done(order.strategy_id, "StoppedByUser")
        net = self.position(account.id, contract.id).netPos
        if net == 0:
            return None
        spec = OrderSpec("Sell" if net > 0 else "Buy", "Market", text="Liquidation")
        order = self._new_order(account, contract, abs(net), spec, is_automated=True)
        self._run_book(contract)
        return order

    # --- matching ------------------------------------------------------------------------------

    def _book(self, order: Order, v: OrderVersion, tick: Decimal) -> Book:
        def t(p: Decimal | None) -> int | None:
            return None if p is None else price_to_ticks(p, tick)

        return Book(
            order.action == "Buy",
            v.orderType,
            t(v.price),
            t(v.stopPrice),
            t(v.pegDifference),
            order.triggered,
            order.id in self._fresh,
        )

    def _run_book(self, contract: Contract) -> None:
        """Execute every working order of `contract` that the last price reaches, repeating
        while executions activate or cancel other orders."""
        last, tick = self.prices[contract.id], contract.providerTickSize
        for _ in range(1000):
            progressed = False
            for order in self._working(contract.id):
                if order.ordStatus != "Working":
                    continue  # cancelled by an OCO partner earlier in this pass
                v = self.version(order)
                self._trail(order, v, last, tick)
                price, order.triggered = execution_price(self._book(order, v, tick), last)
                if price is not None:
                    self._fill(order, v, contract, price)
                    progressed = True
            if not progressed:
                break
        self._fresh.difference_update(o.id for o in self._working(contract.id))

    def _working(self, contract_id: int) -> Iterable[Order]:
        return [
            o
            for o in self.tables["order"].values()
            if o.contractId == contract_id and o.ordStatus == "Working"
        ]

    def _trail(self, order: Order, v: OrderVersion, last: int, tick: Decimal) -> None:
        if v.stopPrice is None:
            return
        buy = order.action == "Buy"
        stop = price_to_ticks(v.stopPrice, tick)
        new = stop
        if v.orderType == "TrailingStop" and v.pegDifference is not None:
            new = trailed_stop(buy, stop, last, price_to_ticks(v.pegDifference, tick))
        elif order.trail_distance_ticks is not None and order.entry_price is not None:
            entry = price_to_ticks(order.entry_price, tick)
            profit = entry - last if buy else last - entry
            if profit >= (order.trail_trigger_ticks or 0):
                new = trailed_stop(
                    buy, stop, last, order.trail_distance_ticks, order.trail_freq_ticks or 1
                )
        if new != stop:
            v.stopPrice = ticks_to_price(new, tick)
            self._emit("orderVersion", "Updated", v)

    def _fill(self, order: Order, v: OrderVersion, contract: Contract, price_ticks: int) -> None:
        now = self.clock.now()
        qty = v.orderQty - order.filled_qty
        price = ticks_to_price(price_ticks, contract.providerTickSize)
        fill = Fill(
            self._new_id(),
            order.id,
            contract.id,
            now,
            self.trade_date,
            order.action,
            qty,
            price,
            account_id=order.accountId,
        )
        order.filled_qty += qty
        self._fresh.discard(order.id)
        self._set_status(order, "Filled")
        self._store("fill", fill)
        pos = self.position(order.accountId, contract.id)
        realized, pairs = ledger.apply_fill(
            pos, fill, self._point_value(contract), self._new_id, self.tables["fill"]
        )
        self._emit("position", "Updated", pos)
        for pair in pairs:
            self._store("fillPair", pair)
        if realized:
            bal = self.cash(order.accountId)
            ledger.book_realized(bal, realized)
            bal.timestamp = now
            self._emit("cashBalance", "Updated", bal)
        if order.linkedId is not None:
            partner = self.tables["order"][order.linkedId]
            if partner.is_working:
                self._cancel(partner)
        for child_id in self._children.get(order.id, ()):
            child = self.tables["order"][child_id]
            if child.ordStatus == "Suspended":
                self._set_status(child, "Working")
        if order.strategy_id is not None:
            legs = self._strategy_legs.pop(order.strategy_id, None)
            if legs is not None:
                self._start_legs(order, contract, price, legs)
            self._finish_strategy_if_done(order.strategy_id, "ExecutionFinished")

    def _start_legs(
        self, entry: Order, contract: Contract, price: Decimal, legs: list[Leg]
    ) -> None:
        assert entry.strategy_id is not None
        strategy = self.tables["orderStrategy"][entry.strategy_id]
        account = self.tables["account"][entry.accountId]
        exit_action = "Sell" if entry.action == "Buy" else "Buy"
        tick = contract.providerTickSize
        for i, leg in enumerate(legs, 1):
            made: list[Order] = []
            if leg.profit_target is not None:
                spec = OrderSpec(exit_action, "Limit", price=price + leg.profit_target)
                made.append(self._leg_order(account, contract, leg.qty, spec, strategy.id))
                self._link(strategy, made[-1], f"TP{i}")
            if leg.stop_loss is not None:
                stop = price + leg.stop_loss
                if leg.trailing_stop:
                    spec = OrderSpec(
                        exit_action,
                        "TrailingStop",
                        stop_price=stop,
                        peg_difference=abs(leg.stop_loss),
                    )
                else:
                    spec = OrderSpec(exit_action, "Stop", stop_price=stop)
                sl = self._leg_order(account, contract, leg.qty, spec, strategy.id)
                if leg.auto_trail is not None:
                    sl.entry_price = price
                    sl.trail_distance_ticks = price_to_ticks(leg.auto_trail.distance, tick)
                    sl.trail_trigger_ticks = price_to_ticks(leg.auto_trail.trigger, tick)
                    sl.trail_freq_ticks = price_to_ticks(leg.auto_trail.freq, tick)
                made.append(sl)
                self._link(strategy, sl, f"SL{i}")
            if len(made) == 2:
                self._link_oco(made[0], made[1])

    def _leg_order(
        self, account: Account, contract: Contract, qty: int, spec: OrderSpec, strategy_id: int
    ) -> Order:
        return self._new_order(
            account, contract, qty, spec, strategy_id=strategy_id, is_automated=True
        )

    def _finish_strategy_if_done(self, strategy_id: int, status: str) -> None:
        strategy: OrderStrategy = self.tables["orderStrategy"][strategy_id]
        if strategy.status != "ActiveStrategy":
            return
        if strategy_id in self._strategy_legs and status == "ExecutionFinished":
            return
        if not any(o.is_working for o in self._strategy_orders(strategy_id)):
            self._strategy_legs.pop(strategy_id, None)
            self._set_strategy_status(strategy, status)

    # --- reports -------------------------------------------------------------------------------

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
