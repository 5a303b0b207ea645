"""The Tradovate Broker adapter: the Broker contract over Tradovate's REST API.

Per-call cost, which matters because the rate limit is per token and shared by every account of
that token: place_order, place_bracket, cancel, modify and flatten are one request each once the
contract is cached (the first use of a contract costs one `contract/find`); get_position is one
(`position/deps`); list_orders is three (orders, their versions, their commands).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from justtrades.brokers import brackets
from justtrades.brokers.base import (
    WORKING_STATUSES,
    AccountInfo,
    BracketAck,
    BracketRequest,
    BrokerError,
    CashBalance,
    FillReport,
    FlattenAck,
    InvalidRequest,
    ModifyRequest,
    OrderAck,
    OrderRejected,
    OrderReport,
    OrderRequest,
    OrderType,
    Position,
    Side,
    UnknownOutcome,
)
from justtrades.brokers.tradovate.client import TradovateClient, _parse_time
from justtrades.instruments import Contract, to_decimal


def _dec(value: Any) -> Decimal | None:
    return None if value is None else to_decimal(value)


def _order_result(data: Any, what: str) -> dict[str, Any]:
    """A PlaceOrderResult / CommandResult: raise on failureReason or violations; an answer
    that is neither a failure nor carries an id leaves the outcome unknown."""
    if not isinstance(data, dict):
        raise UnknownOutcome(f"{what}: unexpected answer {data!r:.200}")
    reason = data.get("failureReason")
    if reason and reason != "Success":
        raise OrderRejected(str(reason), str(data.get("failureText") or ""))
    if data.get("violations"):
        violations = data["violations"]
        items = violations if isinstance(violations, list) else [violations]
        texts = "; ".join(
            str(v.get("description", v)) if isinstance(v, dict) else str(v) for v in items
        )
        raise OrderRejected("Violation", texts)
    if data.get("errorText"):
        raise OrderRejected("UnknownReason", str(data["errorText"]))
    return data


def _needs(key: str) -> Callable[[Any, str], dict[str, Any]]:
    """An order result that must carry `key` (not null): without it the outcome is unknown."""

    def parse(data: Any, what: str) -> dict[str, Any]:
        result = _order_result(data, what)
        if result.get(key) is None:
            raise UnknownOutcome(f"{what}: answer without {key}: {data!r:.200}")
        return result

    return parse


STRATEGY_PREFIX = "strategy:"
_FAILED_STRATEGY = frozenset({"ExecutionFailed", "NotEnoughLiquidity", "StoppedByUser"})


def _strategy_result(data: Any, what: str) -> dict[str, Any]:
    """An OrderStrategyStatusResponse: raise on errorText or a failed strategy."""
    if isinstance(data, dict) and data.get("errorText"):
        raise OrderRejected("StrategyRejected", str(data["errorText"]))
    strategy = data.get("orderStrategy") if isinstance(data, dict) else None
    if not isinstance(strategy, dict) or strategy.get("id") is None:
        raise UnknownOutcome(f"{what}: answer without an order strategy {data!r:.200}")
    if strategy.get("status") in _FAILED_STRATEGY:
        text = strategy.get("failureMessage") or strategy["status"]
        raise OrderRejected(str(strategy["status"]), str(text))
    result: dict[str, Any] = data
    return result


def _strategy_ok(data: Any, what: str) -> dict[str, Any]:
    """interruptorderstrategy: only an errorText is a failure."""
    if isinstance(data, dict) and data.get("errorText"):
        raise OrderRejected("StrategyRejected", str(data["errorText"]))
    return data if isinstance(data, dict) else {}


class TradovateBroker:
    name = "tradovate"

    def __init__(self, client: TradovateClient) -> None:
        self.client = client
        self._contracts: dict[str, dict[str, Any]] = {}  # name -> contract entity
        self._contract_names: dict[int, str] = {}  # id -> name

    async def connect(self) -> None:
        await self.client.ensure_token()

    async def close(self) -> None:
        return None  # the HTTP client is pooled per base URL and outlives one connection

    # --- contracts -----------------------------------------------------------------------------

    def _resolve(self, symbol: str) -> Contract:
        return brackets.contract_for(symbol, self.client.clock.now().date())

    async def _contract_id(self, contract: Contract) -> int:
        found = self._contracts.get(contract.name)
        if found is None:
            try:
                found = await self.client.get("contract/find", name=contract.name)
            except BrokerError as e:
                if "HTTP 404" in str(e):
                    raise OrderRejected("InvalidContract", f"{contract.name} not found") from None
                raise
            if not isinstance(found, dict) or "id" not in found:
                raise OrderRejected("InvalidContract", f"{contract.name} not found")
            self._contracts[contract.name] = found
            self._contract_names[int(found["id"])] = contract.name
        return int(found["id"])

    async def _contract_name(self, contract_id: int) -> str:
        name = self._contract_names.get(contract_id)
        if name is None:
            item = await self.client.get("contract/item", id=contract_id)
            name = str(item["name"])
            self._contract_names[contract_id] = name
            self._contracts[name] = item
        return name

    # --- reads ---------------------------------------------------------------------------------

    async def list_accounts(self) -> list[AccountInfo]:
        rows = await self.client.get("account/list")
        return [
            AccountInfo(str(a["id"]), str(a["name"]), bool(a.get("active", True))) for a in rows
        ]

    async def get_positions(self, account_id: str) -> list[Position]:
        rows = await self.client.get("position/deps", masterid=account_id)
        out = []
        for p in rows:
            if p.get("netPos"):
                name = await self._contract_name(int(p["contractId"]))
                out.append(Position(account_id, name, int(p["netPos"]), _dec(p.get("netPrice"))))
        return out

    async def get_position(self, account_id: str, symbol: str) -> Position:
        contract = self._resolve(symbol)
        contract_id = await self._contract_id(contract)
        rows = await self.client.get("position/deps", masterid=account_id)
        for p in rows:
            if int(p["contractId"]) == contract_id and p.get("netPos"):
                net = int(p["netPos"])
                return Position(account_id, contract.name, net, _dec(p.get("netPrice")))
        return Position(account_id, contract.name, 0, None)

    async def list_orders(self, account_id: str, *, working_only: bool = True) -> list[OrderReport]:
        orders = await self.client.get("order/deps", masterid=account_id)
        if working_only:
            orders = [o for o in orders if o.get("ordStatus") in WORKING_STATUSES]
        if not orders:
            return []
        ids = ",".join(str(o["id"]) for o in orders)
        versions: dict[int, dict[str, Any]] = {}
        for v in await self.client.get("orderVersion/ldeps", masterids=ids):
            current = versions.get(v["orderId"])
            if current is None or v["id"] > current["id"]:
                versions[v["orderId"]] = v
        cl_ids: dict[int, str] = {}
        for c in await self.client.get("command/ldeps", masterids=ids):
            if c.get("commandType") == "New" and c.get("clOrdId"):
                cl_ids[c["orderId"]] = c["clOrdId"]
        out = []
        for o in orders:
            v = versions.get(o["id"], {})
            out.append(
                OrderReport(
                    order_id=str(o["id"]),
                    account_id=account_id,
                    symbol=await self._contract_name(int(o["contractId"])),
                    side=Side(o["action"]),
                    qty=int(v.get("orderQty", 0)),
                    order_type=OrderType(v.get("orderType", "Market")),
                    status=str(o["ordStatus"]),
                    price=_dec(v.get("price")),
                    stop_price=_dec(v.get("stopPrice")),
                    client_order_id=cl_ids.get(o["id"]),
                    parent_id=_str(o.get("parentId")),
                    linked_id=_str(o.get("linkedId")),
                )
            )
        return out

    async def find_order(self, account_id: str, client_order_id: str) -> OrderReport | None:
        orders = await self.list_orders(account_id, working_only=False)
        strategies = await self.client.get("orderStrategy/deps", masterid=account_id)
        for s in strategies:
            if s.get("uuid") == client_order_id:
                return await self._strategy_entry(account_id, s, orders)
        return next((o for o in orders if o.client_order_id == client_order_id), None)

    async def _strategy_entry(
        self, account_id: str, strategy: dict[str, Any], orders: list[OrderReport]
    ) -> OrderReport:
        """The entry order of an order strategy. The strategy exists, so this never answers
        "not found" (that would invite a second send): link labels are undocumented, so the
        entry is the link labelled Entry, else the oldest linked order, else the strategy."""
        links = await self.client.get("orderStrategyLink/deps", masterid=strategy["id"])
        ids = [int(ln["orderId"]) for ln in links if ln.get("label") == "Entry"]
        ids = ids or sorted(int(ln["orderId"]) for ln in links)
        by_id = {o.order_id: o for o in orders}
        for order_id in ids:
            if str(order_id) in by_id:
                return by_id[str(order_id)]
        try:
            entry = json.loads(strategy.get("params") or "{}").get("entryVersion", {})
        except (ValueError, AttributeError):
            entry = {}
        return OrderReport(
            order_id=f"{STRATEGY_PREFIX}{strategy['id']}",
            account_id=account_id,
            symbol=await self._contract_name(int(strategy["contractId"])),
            side=Side(strategy["action"]),
            qty=int(entry.get("orderQty") or 0),
            order_type=OrderType(entry.get("orderType") or "Market"),
            status=str(strategy.get("status") or "Unknown"),
            client_order_id=strategy.get("uuid"),
        )

    async def list_fills(self, account_id: str) -> list[FillReport]:
        orders = await self.client.get("order/deps", masterid=account_id)
        if not orders:
            return []
        ids = ",".join(str(o["id"]) for o in orders)
        out = []
        for f in await self.client.get("fill/ldeps", masterids=ids):
            out.append(
                FillReport(
                    str(f["id"]),
                    str(f["orderId"]),
                    account_id,
                    await self._contract_name(int(f["contractId"])),
                    Side(f["action"]),
                    int(f["qty"]),
                    to_decimal(f["price"]),
                    _parse_time(f["timestamp"]),
                )
            )
        return out

    async def get_cash_balance(self, account_id: str) -> CashBalance:
        data = await self.client.post(
            "cashBalance/getcashbalancesnapshot", {"accountId": int(account_id)}, mutating=False
        )
        if data.get("errorText"):
            raise BrokerError(f"cash balance of {account_id}: {data['errorText']}")

        def d(key: str) -> Decimal:
            return to_decimal(data.get(key) or 0)

        return CashBalance(
            account_id, d("totalCashValue"), d("realizedPnL"), d("openPnL"), d("netLiq")
        )

    # --- orders --------------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        contract = self._resolve(request.symbol)
        tick = contract.spec.tick_size
        body = _version(
            request.order_type,
            request.side,
            brackets.to_tick(request.price, tick),
            brackets.to_tick(request.stop_price, tick),
            None if request.trail_offset is None else brackets.distance(request.trail_offset, tick),
            request.client_order_id,
        )
        body.update(
            accountId=int(request.account_id),
            symbol=contract.name,
            orderQty=request.qty,
            timeInForce=request.time_in_force,
            isAutomated=True,
        )
        data = await self._mutate(
            "order/placeorder", body, request.client_order_id, _needs("orderId")
        )
        return OrderAck(str(data["orderId"]), request.client_order_id)

    async def place_bracket(self, request: BracketRequest) -> BracketAck:
        contract = self._resolve(request.symbol)
        tick = contract.spec.tick_size
        cid = request.client_order_id
        if brackets.use_oso(request):
            body = _version(
                request.entry_type,
                request.side,
                brackets.to_tick(request.entry_price, tick),
                brackets.to_tick(request.entry_stop, tick),
                None,
                cid,
            )
            body.update(
                accountId=int(request.account_id),
                symbol=contract.name,
                orderQty=request.qty,
                isAutomated=True,
            )
            exits = brackets.oso_exits(request, tick)
            for key, (i, x) in zip(("bracket1", "bracket2"), enumerate(exits, 1), strict=False):
                body[key] = _version(
                    x.order_type,
                    request.side.opposite,
                    x.price,
                    x.stop_price,
                    x.peg,
                    f"{cid}-x{i}",
                )
            data = await self._mutate("order/placeoso", body, cid, _needs("orderId"))
            ids = tuple(str(data[k]) for k in ("oso1Id", "oso2Id") if data.get(k) is not None)
            return BracketAck(cid, entry_order_id=str(data["orderId"]), exit_order_ids=ids)
        body = {
            "accountId": int(request.account_id),
            "symbol": contract.name,
            "action": request.side.value,
            "orderStrategyTypeId": 2,
            "params": json.dumps(brackets.strategy_params(request, tick)),
            "uuid": cid,
        }
        data = await self._mutate("orderStrategy/startorderstrategy", body, cid, _strategy_result)
        return BracketAck(cid, strategy_id=str(data["orderStrategy"]["id"]))

    async def cancel_order(self, account_id: str, order_id: str) -> None:
        if order_id.startswith(STRATEGY_PREFIX):  # what find_order reports for a bare strategy
            body = {"orderStrategyId": int(order_id.removeprefix(STRATEGY_PREFIX))}
            await self._mutate("orderStrategy/interruptorderstrategy", body, None, _strategy_ok)
            return
        body = {"orderId": int(order_id), "isAutomated": True}
        await self._mutate("order/cancelorder", body, parse=_needs("commandId"))

    async def modify_order(self, request: ModifyRequest) -> None:
        if request.order_id.startswith(STRATEGY_PREFIX):
            raise InvalidRequest("an order strategy cannot be modified as an order")
        tick = self._resolve(request.symbol).spec.tick_size
        body: dict[str, Any] = {
            "orderId": int(request.order_id),
            "orderQty": request.qty,
            "orderType": request.order_type.value,
            "isAutomated": True,
        }
        if request.price is not None:
            body["price"] = float(brackets.to_tick(request.price, tick) or 0)
        if request.stop_price is not None:
            body["stopPrice"] = float(brackets.to_tick(request.stop_price, tick) or 0)
        await self._mutate("order/modifyorder", body, parse=_needs("commandId"))

    async def flatten(self, account_id: str, symbol: str) -> FlattenAck:
        contract_id = await self._contract_id(self._resolve(symbol))
        body = {"accountId": int(account_id), "contractId": contract_id, "admin": False}
        data = await self._mutate("order/liquidateposition", body)
        order_id = data.get("orderId")
        return FlattenAck(None if order_id is None else str(order_id))

    async def _mutate(
        self,
        path: str,
        body: dict[str, Any],
        client_order_id: str | None = None,
        parse: Callable[[Any, str], dict[str, Any]] = _order_result,
    ) -> dict[str, Any]:
        try:
            return parse(await self.client.post(path, body, mutating=True), path)
        except UnknownOutcome as e:
            raise UnknownOutcome(str(e), client_order_id) from None
        except BrokerError as e:
            if type(e) is BrokerError:  # an HTTP 4xx: the broker refused the request
                raise OrderRejected("HTTPError", str(e)) from None
            raise


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _version(
    order_type: OrderType,
    side: Side,
    price: Decimal | None,
    stop: Decimal | None,
    peg: Decimal | None,
    cl_ord_id: str,
) -> dict[str, Any]:
    """Order-version fields as Tradovate names them (also a bracket's RestrainedOrderVersion)."""
    out: dict[str, Any] = {
        "action": side.value,
        "orderType": order_type.value,
        "clOrdId": cl_ord_id,
    }
    if price is not None:
        out["price"] = float(price)
    if stop is not None:
        out["stopPrice"] = float(stop)
    if peg is not None:
        out["pegDifference"] = float(peg)
    return out
