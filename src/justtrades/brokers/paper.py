"""The paper broker: the simulator's exchange core in process, behind the Broker contract.

No network. Prices come from `set_price` (a quote feed, or the alert's price); TP, SL and
trailing stops are evaluated on every price update by the same core the simulator runs.
"""

from __future__ import annotations

import json
from decimal import Decimal

from justtrades.brokers import brackets
from justtrades.brokers.base import (
    AccountInfo,
    BracketAck,
    BracketRequest,
    CashBalance,
    FillReport,
    FlattenAck,
    ModifyRequest,
    OrderAck,
    OrderRejected,
    OrderReport,
    OrderRequest,
    OrderType,
    Position,
    Side,
)
from justtrades.clock import Clock, SystemClock
from justtrades.instruments import Contract, round_to_tick
from justtrades.sim.entities import Order
from justtrades.sim.exchange import Exchange, OrderSpec, Rejected, StrategyRejected


class PaperBroker:
    name = "paper"

    def __init__(
        self, exchange: Exchange | None = None, *, clock: Clock | None = None, user: str = "demo"
    ) -> None:
        self.exchange = exchange or Exchange(clock or SystemClock())
        found = self.exchange.user_by_name(user)
        if found is None:
            raise ValueError(f"the paper exchange has no user {user!r}")
        self.user_id = found.id

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def set_price(self, symbol: str, price: Decimal) -> None:
        """Feed a market price; working orders it reaches are executed."""
        contract = self.exchange.contract(symbol)
        self.exchange.set_price(contract.name, round_to_tick(price, contract.providerTickSize))

    # --- reads ---------------------------------------------------------------------------------

    def _account(self, account_id: str) -> int:
        try:
            return self.exchange.account(int(account_id), self.user_id).id
        except (ValueError, Rejected):
            raise OrderRejected("UnknownAccount", f"no account {account_id!r}") from None

    async def list_accounts(self) -> list[AccountInfo]:
        return [
            AccountInfo(str(a.id), a.name, a.active)
            for a in self.exchange.accounts_of(self.user_id)
        ]

    async def get_positions(self, account_id: str) -> list[Position]:
        acct = self._account(account_id)
        names = {c.id: c.name for c in self.exchange.tables["contract"].values()}
        return [
            Position(account_id, names[p.contractId], p.netPos, p.netPrice)
            for p in self.exchange.tables["position"].values()
            if p.accountId == acct and p.netPos
        ]

    async def get_position(self, account_id: str, symbol: str) -> Position:
        name = self._contract(symbol).name
        for pos in await self.get_positions(account_id):
            if pos.symbol == name:
                return pos
        return Position(account_id, name, 0, None)

    def _report(self, order: Order) -> OrderReport:
        v = self.exchange.version(order)
        return OrderReport(
            order_id=str(order.id),
            account_id=str(order.accountId),
            symbol=self.exchange.tables["contract"][order.contractId].name,
            side=Side(order.action),
            qty=v.orderQty,
            order_type=OrderType(v.orderType),
            status=order.ordStatus,
            price=v.price,
            stop_price=v.stopPrice,
            client_order_id=order.cl_ord_id,
            parent_id=None if order.parentId is None else str(order.parentId),
            linked_id=None if order.linkedId is None else str(order.linkedId),
        )

    async def list_orders(self, account_id: str, *, working_only: bool = True) -> list[OrderReport]:
        acct = self._account(account_id)
        return [
            self._report(o)
            for o in self.exchange.tables["order"].values()
            if o.accountId == acct and (o.is_working or not working_only)
        ]

    async def find_order(self, account_id: str, client_order_id: str) -> OrderReport | None:
        acct = self._account(account_id)
        for strategy in self.exchange.tables["orderStrategy"].values():
            if strategy.accountId == acct and strategy.uuid == client_order_id:
                for link in self.exchange.tables["orderStrategyLink"].values():
                    if link.orderStrategyId == strategy.id and link.label == "Entry":
                        return self._report(self.exchange.tables["order"][link.orderId])
        for order in self.exchange.tables["order"].values():
            if order.accountId == acct and order.cl_ord_id == client_order_id:
                return self._report(order)
        return None

    async def list_fills(self, account_id: str) -> list[FillReport]:
        acct = self._account(account_id)
        names = {c.id: c.name for c in self.exchange.tables["contract"].values()}
        return [
            FillReport(
                str(f.id),
                str(f.orderId),
                account_id,
                names[f.contractId],
                Side(f.action),
                f.qty,
                f.price,
                f.timestamp,
            )
            for f in self.exchange.tables["fill"].values()
            if f.account_id == acct
        ]

    async def get_cash_balance(self, account_id: str) -> CashBalance:
        snap = self.exchange.cash_snapshot(self._account(account_id), self.user_id)

        def d(key: str) -> Decimal:
            return Decimal(str(snap[key]))

        return CashBalance(
            account_id, d("totalCashValue"), d("realizedPnL"), d("openPnL"), d("netLiq")
        )

    # --- orders --------------------------------------------------------------------------------

    def _contract(self, symbol: str) -> Contract:
        contract = brackets.contract_for(symbol, self.exchange.clock.now().date())
        if contract.name not in self.exchange.contracts_by_name:
            raise OrderRejected("InvalidContract", f"{contract.name} is not listed")
        return contract

    async def place_order(self, request: OrderRequest) -> OrderAck:
        contract = self._contract(request.symbol)
        tick = contract.spec.tick_size
        spec = OrderSpec(
            request.side.value,
            request.order_type.value,
            brackets.to_tick(request.price, tick),
            brackets.to_tick(request.stop_price, tick),
            None if request.trail_offset is None else brackets.distance(request.trail_offset, tick),
            request.time_in_force,
            None,
            request.client_order_id,
        )
        acct = self._account(request.account_id)
        try:
            order = self.exchange.place_order(
                acct, contract.name, request.qty, spec, user_id=self.user_id, is_automated=True
            )
        except Rejected as e:
            raise OrderRejected(e.reason, e.text) from None
        return OrderAck(str(order.id), request.client_order_id)

    async def place_bracket(self, request: BracketRequest) -> BracketAck:
        contract = self._contract(request.symbol)
        tick = contract.spec.tick_size
        acct = self._account(request.account_id)
        cid = request.client_order_id
        try:
            if brackets.use_oso(request):
                entry = OrderSpec(
                    request.side.value,
                    request.entry_type.value,
                    brackets.to_tick(request.entry_price, tick),
                    brackets.to_tick(request.entry_stop, tick),
                    cl_ord_id=cid,
                )
                exits = [
                    OrderSpec(
                        request.side.opposite.value,
                        x.order_type.value,
                        x.price,
                        x.stop_price,
                        x.peg,
                        cl_ord_id=f"{cid}-x{i}",
                    )
                    for i, x in enumerate(brackets.oso_exits(request, tick), 1)
                ]
                parent, first, second = self.exchange.place_oso(
                    acct,
                    contract.name,
                    request.qty,
                    entry,
                    exits[0],
                    exits[1] if len(exits) > 1 else None,
                    user_id=self.user_id,
                    is_automated=True,
                )
                ids = tuple(str(o.id) for o in (first, second) if o is not None)
                return BracketAck(cid, entry_order_id=str(parent.id), exit_order_ids=ids)
            params = json.dumps(brackets.strategy_params(request, tick))
            strategy = self.exchange.start_order_strategy(
                acct, contract.name, request.side.value, params, uuid=cid, user_id=self.user_id
            )
        except Rejected as e:
            raise OrderRejected(e.reason, e.text) from None
        except StrategyRejected as e:
            raise OrderRejected("StrategyRejected", str(e)) from None
        return BracketAck(cid, strategy_id=str(strategy.id))

    async def cancel_order(self, account_id: str, order_id: str) -> None:
        self._account(account_id)
        try:
            self.exchange.cancel_order(int(order_id), self.user_id)
        except (ValueError, Rejected) as e:
            raise OrderRejected(getattr(e, "reason", "UnknownReason"), str(e)) from None

    async def modify_order(self, request: ModifyRequest) -> None:
        self._account(request.account_id)
        try:
            order = self.exchange.tables["order"][int(request.order_id)]
            tick = self._contract(request.symbol).spec.tick_size
            spec = OrderSpec(
                order.action,
                request.order_type.value,
                brackets.to_tick(request.price, tick),
                brackets.to_tick(request.stop_price, tick),
            )
            self.exchange.modify_order(order.id, request.qty, spec, self.user_id)
        except (KeyError, ValueError):
            raise OrderRejected("UnknownReason", f"order {request.order_id} not found") from None
        except Rejected as e:
            raise OrderRejected(e.reason, e.text) from None

    async def flatten(self, account_id: str, symbol: str) -> FlattenAck:
        acct = self._account(account_id)
        contract = self.exchange.contract(self._contract(symbol).name)
        order = self.exchange.liquidate_position(acct, contract.id, self.user_id)
        return FlattenAck(None if order is None else str(order.id))
