"""`orderStrategy/startorderstrategy` multibracket params.

`params` is a JSON string: `{"entryVersion": {"orderQty", "orderType", "price"?, "stopPrice"?},
"brackets": [{"qty", "profitTarget"?, "stopLoss"?, "trailingStop"?, "autoTrail"?}]}`. Offsets
are signed price points from the entry fill (long: profitTarget > 0, stopLoss < 0; short: the
reverse). `autoTrail` `{"stopLoss", "trigger", "freq"}` (points): once the trade is `trigger` in
profit, the stop trails `stopLoss` behind the best price, moving in steps of at least `freq`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from justtrades.instruments import MAX_PRICE, in_price_range, is_on_tick, to_decimal

ENTRY_TYPES = ("Market", "Limit", "Stop", "StopLimit")


class InvalidParams(ValueError):
    pass


@dataclass(frozen=True)
class AutoTrail:
    distance: Decimal
    trigger: Decimal
    freq: Decimal


@dataclass(frozen=True)
class Leg:
    qty: int
    profit_target: Decimal | None
    stop_loss: Decimal | None
    trailing_stop: bool
    auto_trail: AutoTrail | None


@dataclass(frozen=True)
class StrategyParams:
    qty: int
    order_type: str
    price: Decimal | None
    stop_price: Decimal | None
    legs: list[Leg]


def _dec(v: Any, what: str, tick: Decimal) -> Decimal | None:
    if v is None:
        return None
    try:
        d = to_decimal(v)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidParams(f"{what} is not a number") from None
    if isinstance(v, bool) or not in_price_range(d):
        raise InvalidParams(f"{what} is not a number below {MAX_PRICE}")
    if not is_on_tick(d, tick):
        raise InvalidParams(f"{what} {v} is not a multiple of the tick size {tick}")
    return d


def parse_params(raw: str, action: str, tick: Decimal) -> StrategyParams:
    try:
        data = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        raise InvalidParams("params is not a JSON string") from None
    if not isinstance(data, dict):
        raise InvalidParams("params must be a JSON object")
    entry = data.get("entryVersion")
    brackets = data.get("brackets")
    if not isinstance(entry, dict) or not isinstance(brackets, list) or not brackets:
        raise InvalidParams("entryVersion and a non-empty brackets list are required")
    order_type = entry.get("orderType", "Market")
    if order_type not in ENTRY_TYPES:
        raise InvalidParams(f"entryVersion.orderType {order_type!r} is not supported")
    long = action == "Buy"
    legs: list[Leg] = []
    for i, b in enumerate(brackets, 1):
        if not isinstance(b, dict):
            raise InvalidParams(f"bracket {i} is not an object")
        qty = b.get("qty")
        if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty < 2**31:
            raise InvalidParams(f"bracket {i} qty must be a whole number of at least 1")
        tp = _dec(b.get("profitTarget"), f"bracket {i} profitTarget", tick)
        sl = _dec(b.get("stopLoss"), f"bracket {i} stopLoss", tick)
        if tp is not None and (tp > 0) != long:
            raise InvalidParams(f"bracket {i} profitTarget has the wrong sign for {action}")
        if sl is not None and (sl < 0) != long:
            raise InvalidParams(f"bracket {i} stopLoss has the wrong sign for {action}")
        trail = None
        at = b.get("autoTrail")
        if isinstance(at, dict):
            dist = _dec(at.get("stopLoss"), f"bracket {i} autoTrail.stopLoss", tick)
            trig = _dec(at.get("trigger", 0), f"bracket {i} autoTrail.trigger", tick)
            freq = _dec(at.get("freq", tick), f"bracket {i} autoTrail.freq", tick)
            if dist is None or dist == 0 or sl is None:
                raise InvalidParams(f"bracket {i} autoTrail needs stopLoss on the leg and trail")
            trail = AutoTrail(abs(dist), abs(trig or Decimal(0)), abs(freq or tick))
        trailing = b.get("trailingStop", False)
        if not isinstance(trailing, bool):
            raise InvalidParams(f"bracket {i} trailingStop must be true or false")
        legs.append(Leg(qty, tp, sl, trailing, trail))
    qty = entry.get("orderQty", sum(leg.qty for leg in legs))
    if not isinstance(qty, int) or isinstance(qty, bool):
        raise InvalidParams("entryVersion.orderQty must be a whole number")
    if qty != sum(leg.qty for leg in legs) or qty >= 2**31:
        raise InvalidParams("entryVersion.orderQty must equal the sum of the bracket qtys")
    price = _dec(entry.get("price"), "entryVersion.price", tick)
    stop = _dec(entry.get("stopPrice"), "entryVersion.stopPrice", tick)
    if order_type in ("Limit", "StopLimit") and price is None:
        raise InvalidParams(f"entryVersion.price is required for {order_type}")
    if order_type in ("Stop", "StopLimit") and stop is None:
        raise InvalidParams(f"entryVersion.stopPrice is required for {order_type}")
    return StrategyParams(qty, order_type, price, stop, legs)
