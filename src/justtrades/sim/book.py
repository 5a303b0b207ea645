"""Order bookkeeping and matching: creating orders and versions, OCO links, cancellation,
and executing what a price reaches, with the fills, positions, cash and bracket activations that
follow. Prices are compared in integer ticks (matching.py)."""

from __future__ import annotations

from decimal import Decimal

from justtrades.instruments import price_to_ticks, ticks_to_price
from justtrades.sim import ledger
from justtrades.sim.entities import (
    Account,
    Command,
    Contract,
    Fill,
    Order,
    OrderStrategy,
    OrderStrategyLink,
    OrderVersion,
)
from justtrades.sim.matching import Book, execution_price, trailed_stop
from justtrades.sim.state import ExchangeState, OrderSpec, Rejected
from justtrades.sim.strategy import Leg


class OrderBook(ExchangeState):
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
            self._used_cl_ord_ids.add((account.id, spec.cl_ord_id))
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
        self._store_version(order, cmd.id, qty, spec, deferred=status == "Suspended")
        if parent_id is not None:
            self._children.setdefault(parent_id, []).append(order.id)
        if strategy_id is not None:
            self._strategy_order_ids.setdefault(strategy_id, []).append(order.id)
        self._set_status(order, status)
        return order

    def check_cl_ord_ids(self, account_id: int, wanted: list[str | None]) -> None:
        """Refuse, before anything is created, a client order id this account already used."""
        ids = [i for i in wanted if i is not None]
        for cl_ord_id in ids:
            if (account_id, cl_ord_id) in self._used_cl_ord_ids or ids.count(cl_ord_id) > 1:
                raise Rejected("UnknownReason", f"clOrdId {cl_ord_id!r} was already used")

    def _store_version(
        self, order: Order, version_id: int, qty: int, spec: OrderSpec, *, deferred: bool = False
    ) -> None:
        version = OrderVersion(
            version_id,
            order.id,
            qty,
            spec.order_type,
            spec.price,
            spec.stop_price,
            spec.peg_difference,
            spec.time_in_force or "Day",
            spec.text,
        )
        if not deferred:  # a bracket child's trail starts from the price when it goes live
            self._start_trail(order, version)
        order.version_id = version_id
        self._store("orderVersion", version)

    def _start_trail(self, order: Order, v: OrderVersion) -> None:
        """Complete a TrailingStop from the current price: the stop from the offset, or the
        offset from the stop."""
        if v.orderType != "TrailingStop":
            return
        last = self.last_price(self.tables["contract"][order.contractId])
        if v.stopPrice is None and v.pegDifference is not None:
            v.stopPrice = (
                last - v.pegDifference if order.action == "Sell" else last + v.pegDifference
            )
        elif v.pegDifference is None and v.stopPrice is not None:
            v.pegDifference = abs(last - v.stopPrice)

    def _set_status(self, order: Order, status: str) -> None:
        order.ordStatus = status
        live = self._live.setdefault(order.contractId, {})
        if order.is_working:
            live[order.id] = order
        else:
            live.pop(order.id, None)
            self._books.pop(order.id, None)
        if status == "Working":
            self._fresh.add(order.id)
        self._emit("order", "Updated", order)

    @staticmethod
    def _link_oco(a: Order, b: Order) -> None:
        a.linkedId, b.linkedId = b.id, a.id
        b.ocoId = a.id

    def _link(self, strategy: OrderStrategy, order: Order, label: str) -> None:
        link = OrderStrategyLink(self._new_id(), strategy.id, order.id, label)
        self._store("orderStrategyLink", link)

    def _strategy_orders(self, strategy_id: int) -> list[Order]:
        orders = self.tables["order"]
        return [orders[i] for i in self._strategy_order_ids.get(strategy_id, ())]

    def _set_strategy_status(self, strategy: OrderStrategy, status: str) -> None:
        strategy.status = status
        self._emit("orderStrategy", "Updated", strategy)

    def _cancel(self, order: Order) -> None:
        self._set_status(order, "Canceled")
        self._fresh.discard(order.id)
        for child_id in self._children.get(order.id, ()):
            child = self.tables["order"][child_id]
            if child.is_working:
                self._cancel(child)

    def _finish_strategy_if_done(self, strategy_id: int, status: str) -> None:
        strategy: OrderStrategy = self.tables["orderStrategy"][strategy_id]
        if strategy.status != "ActiveStrategy":
            return
        if strategy_id in self._strategy_legs and status == "ExecutionFinished":
            return
        if not any(o.is_working for o in self._strategy_orders(strategy_id)):
            self._strategy_legs.pop(strategy_id, None)
            self._set_strategy_status(strategy, status)

    def _book(self, order: Order, tick: Decimal) -> Book:
        """The order's current version in ticks, cached until the version changes."""
        b = self._books.get(order.id)
        if b is None or b.version_id != order.version_id:
            v = self.version(order)

            def t(p: Decimal | None) -> int | None:
                return None if p is None else price_to_ticks(p, tick)

            b = Book(
                v.id,
                order.action == "Buy",
                v.orderType,
                t(v.price),
                t(v.stopPrice),
                t(v.pegDifference),
                trails=v.orderType == "TrailingStop" or order.trail_distance_ticks is not None,
            )
            self._books[order.id] = b
        return b

    def _run_book(self, contract: Contract, *, price_moved: bool = False) -> None:
        """Execute the working orders of `contract` that the last price reaches.

        After a price move every working order is looked at once; otherwise (and afterwards)
        only fresh ones — new, activated or modified — since a resting order already looked at
        this price cannot execute at it now. Executions that activate orders repeat the pass."""
        last, tick = self.prices[contract.id], contract.providerTickSize
        live = self._live.get(contract.id, {})
        candidates = self._working(contract.id) if price_moved else self._fresh_orders(live)
        for _ in range(1000):
            if not candidates:
                break
            for order in candidates:
                if order.ordStatus != "Working":
                    continue  # cancelled by an OCO partner earlier in this pass
                b = self._book(order, tick)
                if b.trails:
                    self._trail(order, b, last, tick)
                fresh = order.id in self._fresh
                self._fresh.discard(order.id)  # from now on it rests at this price
                price, order.triggered = execution_price(b, last, order.triggered, fresh)
                if price is not None:
                    self._fill(order, self.version(order), contract, price)
            candidates = self._fresh_orders(live)

    def _fresh_orders(self, live: dict[int, Order]) -> list[Order]:
        found = (live[i] for i in self._fresh if i in live)
        return sorted((o for o in found if o.ordStatus == "Working"), key=lambda o: o.id)

    def _working(self, contract_id: int) -> list[Order]:
        """Working orders of a contract, oldest first (time priority: ids only grow)."""
        return [o for o in self._live.get(contract_id, {}).values() if o.ordStatus == "Working"]

    def _trail(self, order: Order, b: Book, last: int, tick: Decimal) -> None:
        if b.stop is None:
            return
        new = b.stop
        if b.order_type == "TrailingStop" and b.peg is not None:
            new = trailed_stop(b.buy, b.stop, last, b.peg)
        elif order.trail_distance_ticks is not None and order.entry_price is not None:
            entry = price_to_ticks(order.entry_price, tick)
            profit = entry - last if b.buy else last - entry
            if profit >= (order.trail_trigger_ticks or 0):
                new = trailed_stop(
                    b.buy, b.stop, last, order.trail_distance_ticks, order.trail_freq_ticks or 1
                )
        if new != b.stop:
            b.stop = new
            v = self.version(order)
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
                self._start_trail(child, self.version(child))
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
                spec = OrderSpec(
                    exit_action, "Limit", price=_floor(price + leg.profit_target, tick)
                )
                made.append(self._leg_order(account, contract, leg.qty, spec, strategy.id))
                self._link(strategy, made[-1], f"TP{i}")
            if leg.stop_loss is not None:
                stop = _floor(price + leg.stop_loss, tick)
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


def _floor(price: Decimal, tick: Decimal) -> Decimal:
    """An exit computed from a fill far from the expected entry may fall at or below zero; it
    is kept (as one tick) so that the leg and its OCO partner still exist, unreachable."""
    return price if price > 0 else tick
