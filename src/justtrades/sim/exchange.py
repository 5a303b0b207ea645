"""The exchange core: accounts, orders, brackets, fills, positions and cash. No I/O.

Deterministic: ids come from one counter, random walks from a seeded generator, and time from an
injected clock. Every operation either completes or raises `Rejected` (a definitive business
failure, reported by the server as Tradovate does: HTTP 200 with `failureReason`).
Each change is also published as a Tradovate `props` event to `listeners`.
"""

from __future__ import annotations

from decimal import Decimal

from justtrades.instruments import is_on_tick, price_to_ticks, ticks_to_price
from justtrades.sim.book import OrderBook
from justtrades.sim.entities import Command, Contract, Fill, Order, OrderStrategy
from justtrades.sim.state import ORDER_TYPES, OrderSpec, Rejected, StrategyRejected
from justtrades.sim.strategy import InvalidParams, Leg, parse_params

__all__ = ["Exchange", "OrderSpec", "Rejected", "StrategyRejected"]


class Exchange(OrderBook):
    """Public operations of the exchange core; see state.py and book.py for the rest."""

    def set_price(self, symbol: str, price: Decimal) -> list[Fill]:
        """Move a market to `price` (on its tick grid) and execute what it reaches."""
        contract = self.contract(symbol)
        tick = contract.providerTickSize
        if price <= 0 or not is_on_tick(price, tick):
            raise ValueError(f"price {price} is not on {contract.name}'s tick grid ({tick})")
        self._roll_session()
        before = len(self.tables["fill"])
        self.prices[contract.id] = price_to_ticks(price, tick)
        self._run_book(contract, price_moved=True)
        for listener in self.price_listeners:
            listener(contract.id)
        return list(self.tables["fill"].values())[before:]

    def random_walk(self, symbol: str, steps: int, max_step_ticks: int = 4) -> Decimal:
        """Move a market `steps` times by a seeded random number of ticks."""
        contract = self.contract(symbol)
        for _ in range(steps):
            step = self.rng.randint(-max_step_ticks, max_step_ticks)
            ticks = max(1, self.prices[contract.id] + step)
            self.set_price(contract.name, ticks_to_price(ticks, contract.providerTickSize))
        return self.last_price(contract)

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
        if kind == "TrailingStop" and spec.stop_price is None:
            raise Rejected("InvalidPrice", "stopPrice is required for TrailingStop")
        for name, value in (
            ("price", spec.price),
            ("stopPrice", spec.stop_price),
            ("pegDifference", spec.peg_difference),
        ):
            if value is not None and not is_on_tick(value, tick):
                raise Rejected("InvalidPrice", f"{name} {value} is not a multiple of {tick}")
            if value is not None and value <= 0:
                raise Rejected("InvalidPrice", f"{name} {value} must be positive")
        if child or spec.stop_price is None or kind not in ("Stop", "StopLimit", "TrailingStop"):
            return
        last = self.last_price(contract)
        buy = spec.action == "Buy"
        if (buy and spec.stop_price <= last) or (not buy and spec.stop_price >= last):
            side = "above" if buy else "below"
            raise Rejected("InvalidPrice", f"{spec.action} stop must be {side} the market {last}")

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
        self.check_cl_ord_ids(account.id, [spec.cl_ord_id])
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
                # A child stop on the wrong side of the market is refused as the same plain
                # order would be (it would trigger the moment it went live).
                self._check(contract, qty, b, child=False)
        self.check_cl_ord_ids(account.id, [s.cl_ord_id for s in (entry, bracket1, bracket2) if s])
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
        self.check_cl_ord_ids(account.id, [first.cl_ord_id, other.cl_ord_id])
        a = self._new_order(account, contract, qty, first, is_automated=is_automated)
        b = self._new_order(account, contract, qty, other, is_automated=is_automated)
        self._link_oco(a, b)
        self._run_book(contract)
        return a, b

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
        self._check_legs(contract, p.legs, p.price or p.stop_price or self.last_price(contract))
        self.check_cl_ord_ids(account.id, [uuid])
        if uuid is not None:
            self._used_cl_ord_ids.add((account.id, uuid))
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

    @staticmethod
    def _check_legs(contract: Contract, legs: list[Leg], base: Decimal) -> None:
        """Every exit, placed from the expected entry price, must be a positive price."""
        for i, leg in enumerate(legs, 1):
            for name, offset in (("profitTarget", leg.profit_target), ("stopLoss", leg.stop_loss)):
                if offset is not None and not is_on_tick(base + offset, contract.providerTickSize):
                    raise StrategyRejected(f"Invalid or missed parameters: bracket {i} {name}")
                if offset is not None and base + offset <= 0:
                    raise StrategyRejected(
                        f"Invalid or missed parameters: bracket {i} {name} {offset} would put "
                        f"the exit at {base + offset}"
                    )

    def interrupt_order_strategy(self, strategy_id: int, user_id: int | None = None) -> None:
        strategy: OrderStrategy | None = self.tables["orderStrategy"].get(strategy_id)
        if strategy is None:
            raise StrategyRejected("Order strategy not found")
        self.account(strategy.accountId, user_id)
        for order in self._strategy_orders(strategy.id):
            if order.is_working:
                self._cancel(order)
        self._strategy_legs.pop(strategy.id, None)
        if strategy.status == "ActiveStrategy":
            self._set_strategy_status(strategy, "StoppedByUser")

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
        legs = self._strategy_legs.get(order.strategy_id or 0)
        if legs is not None:
            if qty != self.version(order).orderQty:
                # its exits are sized from the params: a new entry size would leave them wrong
                raise Rejected("UnknownReason", "the entry of an order strategy keeps its qty")
            try:
                base = spec.price or spec.stop_price or self.last_price(contract)
                self._check_legs(contract, legs, base)
            except StrategyRejected as e:
                raise Rejected("InvalidPrice", str(e)) from None
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
        self._store_version(order, cmd.id, qty, spec, deferred=order.ordStatus == "Suspended")
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
        for order in list(self._live.get(contract.id, {}).values()):
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
