"""Tradovate's trading and auth operations, over the exchange core.

Each handler takes the merged query/body parameters and returns the JSON Tradovate returns:
business failures are HTTP 200 with `failureReason`/`failureText` (orders), `errorText` (auth,
order strategies, snapshots) or `violations` (a required field missing or malformed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from justtrades.instruments import MAX_PRICE, in_price_range, to_decimal
from justtrades.sim.auth import TokenStore
from justtrades.sim.entities import JSON, iso
from justtrades.sim.exchange import Exchange, OrderSpec, Rejected, StrategyRejected


class Violations(Exception):
    def __init__(self, items: list[JSON]) -> None:
        super().__init__(items)
        self.items = items


def _violation(field: str, value: Any, description: str) -> Violations:
    shown = "" if value is None else str(value)[:64]
    return Violations([{"constraint": field, "value": shown, "description": description}])


def _req(p: dict[str, Any], name: str) -> Any:
    value = p.get(name)
    if value is None or value == "":
        raise _violation(name, value, f"{name} is required")
    return value


INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def _int(
    p: dict[str, Any], name: str, required: bool = True, maximum: int = INT64_MAX
) -> int | None:
    """A whole number (an int, or a string or float holding one) from 0 to `maximum`."""
    value = _req(p, name) if required else p.get(name)
    if value is None:
        return None
    problem = f"{name} must be a whole number from 0 to {maximum}"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _violation(name, value, problem)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _violation(name, value, problem) from None
    ok = number.is_finite() and number.adjusted() < 20  # checked before any int() of it
    if not ok or number != number.to_integral_value() or not 0 <= number <= maximum:
        raise _violation(name, value, problem)
    return int(number)


def _bool(p: dict[str, Any], name: str, default: bool = False) -> bool:
    """JSON true/false, or the strings "true"/"false" (query strings carry only strings)."""
    value = p.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _violation(name, value, f"{name} must be true or false")


def _text(p: dict[str, Any], name: str, max_len: int = 64) -> str | None:
    value = p.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > max_len:
        raise _violation(name, value, f"{name} must be a string of at most {max_len} characters")
    return str(value)


def _price(p: dict[str, Any], name: str) -> Decimal | None:
    value = p.get(name)
    if value is None:
        return None
    try:
        number = to_decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        number = Decimal("NaN")
    if isinstance(value, bool) or not in_price_range(number):
        raise _violation(name, value, f"{name} must be a number below {MAX_PRICE}")
    return number


def _spec(p: dict[str, Any], with_clordid: bool = True) -> OrderSpec:
    return OrderSpec(
        action=str(_req(p, "action")),
        order_type=str(_req(p, "orderType")),
        price=_price(p, "price"),
        stop_price=_price(p, "stopPrice"),
        peg_difference=_price(p, "pegDifference"),
        time_in_force=_text(p, "timeInForce"),
        text=_text(p, "text"),
        cl_ord_id=_text(p, "clOrdId") if with_clordid else None,
    )


@dataclass
class Ctx:
    ex: Exchange
    tokens: TokenStore
    user_id: int
    reject_reason: str | None  # injected rejection for order operations


def _account_id(ctx: Ctx, p: dict[str, Any]) -> int:
    if p.get("accountId") is not None:
        return _int(p, "accountId") or 0
    spec = p.get("accountSpec")
    accounts = ctx.ex.accounts_of(ctx.user_id)
    user = ctx.ex.tables["user"][ctx.user_id]
    if spec is not None and spec == user.name and accounts:
        return accounts[0].id  # the user name is a valid accountSpec (AccessTokenResponse.name)
    for acct in accounts:
        if spec is not None and acct.name == spec:
            return acct.id
    raise _violation("accountId", None, "accountId or a known accountSpec is required")


def _injected(ctx: Ctx) -> None:
    if ctx.reject_reason:
        raise Rejected(ctx.reject_reason, "Rejected by the simulator's fault injection")


def _order_fields(ctx: Ctx, p: dict[str, Any]) -> tuple[int, str, int, OrderSpec]:
    """What every placing operation shares: account, symbol, quantity, order version."""
    acct, qty = _account_id(ctx, p), _int(p, "orderQty", maximum=INT32_MAX) or 0
    return acct, str(_req(p, "symbol")), qty, _spec(p)


def _object(p: dict[str, Any], name: str, required: bool) -> dict[str, Any] | None:
    value = p.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise _violation(name, value, f"{name} must be an object" + " (required)" * required)
    return value


def place_order(ctx: Ctx, p: dict[str, Any]) -> JSON:
    acct, symbol, qty, spec = _order_fields(ctx, p)
    _injected(ctx)
    order = ctx.ex.place_order(
        acct, symbol, qty, spec, user_id=ctx.user_id, is_automated=_bool(p, "isAutomated")
    )
    return {"orderId": order.id}


def place_oso(ctx: Ctx, p: dict[str, Any]) -> JSON:
    acct, symbol, qty, spec = _order_fields(ctx, p)
    b1, b2 = _object(p, "bracket1", True), _object(p, "bracket2", False)
    assert b1 is not None
    _injected(ctx)
    entry, first, second = ctx.ex.place_oso(
        acct,
        symbol,
        qty,
        spec,
        _spec(b1),
        _spec(b2) if b2 else None,
        user_id=ctx.user_id,
        is_automated=_bool(p, "isAutomated"),
    )
    out: JSON = {"orderId": entry.id, "oso1Id": first.id}
    if second is not None:
        out["oso2Id"] = second.id
    return out


def place_oco(ctx: Ctx, p: dict[str, Any]) -> JSON:
    acct, symbol, qty, spec = _order_fields(ctx, p)
    other = _object(p, "other", True)
    assert other is not None
    _injected(ctx)
    a, b = ctx.ex.place_oco(
        acct,
        symbol,
        qty,
        spec,
        _spec(other),
        user_id=ctx.user_id,
        is_automated=_bool(p, "isAutomated"),
    )
    return {"orderId": a.id, "ocoId": b.id}


def cancel_order(ctx: Ctx, p: dict[str, Any]) -> JSON:
    order_id = _int(p, "orderId") or 0
    _injected(ctx)
    return {"commandId": ctx.ex.cancel_order(order_id, ctx.user_id).id}


def modify_order(ctx: Ctx, p: dict[str, Any]) -> JSON:
    order_id, qty = _int(p, "orderId") or 0, _int(p, "orderQty", maximum=INT32_MAX) or 0
    spec = _spec({**p, "action": "Buy"})  # the action of an order never changes
    _injected(ctx)
    return {"commandId": ctx.ex.modify_order(order_id, qty, spec, ctx.user_id).id}


def liquidate_position(ctx: Ctx, p: dict[str, Any]) -> JSON:
    acct, contract_id = _int(p, "accountId") or 0, _int(p, "contractId") or 0
    _injected(ctx)
    order = ctx.ex.liquidate_position(acct, contract_id, ctx.user_id)
    return {} if order is None else {"orderId": order.id}


def start_order_strategy(ctx: Ctx, p: dict[str, Any]) -> JSON:
    symbol, action = str(_req(p, "symbol")), str(_req(p, "action"))
    if _int(p, "orderStrategyTypeId") != 2:
        return {"errorText": "Invalid or missed parameters: orderStrategyTypeId must be 2"}
    acct = _account_id(ctx, p)
    if ctx.reject_reason:
        return {"errorText": f"Rejected by the simulator's fault injection: {ctx.reject_reason}"}
    try:
        strategy = ctx.ex.start_order_strategy(
            acct,
            symbol,
            action,
            str(p.get("params") or ""),
            uuid=_text(p, "uuid"),
            custom_tag50=_text(p, "customTag50"),
            user_id=ctx.user_id,
        )
    except StrategyRejected as e:
        return {"errorText": str(e)}
    except Rejected as e:
        return {"errorText": f"{e.reason}: {e.text}"}
    return {"orderStrategy": strategy.to_json()}


def interrupt_order_strategy(ctx: Ctx, p: dict[str, Any]) -> JSON:
    strategy_id = _int(p, "orderStrategyId") or 0
    try:
        ctx.ex.interrupt_order_strategy(strategy_id, ctx.user_id)
    except (StrategyRejected, Rejected) as e:
        return {"errorText": str(e)}
    return {"orderStrategy": ctx.ex.tables["orderStrategy"][strategy_id].to_json()}


def cash_balance_snapshot(ctx: Ctx, p: dict[str, Any]) -> JSON:
    try:
        return ctx.ex.cash_snapshot(_int(p, "accountId") or 0, ctx.user_id)
    except Rejected as e:
        return {"errorText": e.text}


def roll_contract(ctx: Ctx, p: dict[str, Any]) -> JSON:
    try:
        current = ctx.ex.contract(str(_req(p, "name")))
    except Rejected:
        return {"errorText": "Contract not found"}
    same_root = sorted(
        (c for c in ctx.ex.contracts_by_name.values() if c.root == current.root),
        key=lambda c: ctx.ex.tables["contractMaturity"][c.contractMaturityId].expirationMonth,
    )
    i = same_root.index(current)
    forward = _bool(p, "forward", default=True)
    target = same_root[min(i + 1, len(same_root) - 1)] if forward else current
    return {"contract": target.to_json()}


def renew_token(ctx: Ctx, p: dict[str, Any]) -> JSON:
    return token_response(ctx.ex, ctx.tokens, ctx.user_id)


def me(ctx: Ctx, p: dict[str, Any]) -> JSON:
    user = ctx.ex.tables["user"][ctx.user_id]
    return {
        "userId": user.id,
        "name": user.name,
        "fullName": user.name,
        "email": user.email,
        "emailVerified": True,
        "isTrial": False,
    }


def strategy_types(ctx: Ctx, p: dict[str, Any]) -> list[JSON]:
    return [{"id": 2, "name": "multibracket", "enabled": True}]


def token_response(ex: Exchange, tokens: TokenStore, user_id: int) -> JSON:
    user = ex.tables["user"][user_id]
    access, md, expires = tokens.issue(user_id)
    return {
        "accessToken": access,
        "mdAccessToken": md,
        "expirationTime": iso(expires),
        "userStatus": user.status,
        "userId": user.id,
        "name": user.name,
        "hasLive": False,
    }


def access_token_request(ex: Exchange, tokens: TokenStore, p: dict[str, Any]) -> JSON:
    """Any appId / cid / sec is accepted; only the name and password are checked."""
    user = ex.user_by_name(str(p.get("name") or ""))
    if user is None or user.password != str(p.get("password") or ""):
        return {"errorText": "Incorrect username or password. Please try again."}
    return token_response(ex, tokens, user.id)


Handler = Callable[[Ctx, dict[str, Any]], Any]
HANDLERS: dict[str, Handler] = {
    "order/placeorder": place_order,
    "order/placeoso": place_oso,
    "order/placeoco": place_oco,
    "order/cancelorder": cancel_order,
    "order/modifyorder": modify_order,
    "order/liquidateposition": liquidate_position,
    "orderstrategy/startorderstrategy": start_order_strategy,
    "orderstrategy/interruptorderstrategy": interrupt_order_strategy,
    "cashbalance/getcashbalancesnapshot": cash_balance_snapshot,
    "contract/rollcontract": roll_contract,
    "auth/renewaccesstoken": renew_token,
    "auth/me": me,
    "orderstrategytype/list": strategy_types,
}
