"""How a `BracketRequest` becomes broker orders, shared by every Tradovate-shaped broker.

A single leg whose entry price is known in advance (a limit/stop entry, or a market entry with a
reference price) is one OSO: entry plus absolute TP and SL prices, OCO-linked. Anything else
(several legs, auto-trail, a market entry with no reference) is a multibracket order strategy
whose exits are signed offsets from the real fill. Every price and offset is on the tick grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from justtrades.brokers.base import BracketLeg, BracketRequest, OrderRejected, OrderType, Side
from justtrades.instruments import Contract, UnknownInstrument, resolve, round_to_tick


def contract_for(symbol: str, today: date) -> Contract:
    try:
        return resolve(symbol, today)
    except UnknownInstrument as e:
        raise OrderRejected("InvalidContract", str(e)) from None


def to_tick(value: Decimal | None, tick: Decimal) -> Decimal | None:
    return None if value is None else round_to_tick(value, tick)


def distance(value: Decimal, tick: Decimal) -> Decimal:
    """A positive distance rounded to the tick, never less than one tick."""
    return max(round_to_tick(value, tick), tick)


@dataclass(frozen=True, slots=True)
class Exit:
    order_type: OrderType
    price: Decimal | None = None
    stop_price: Decimal | None = None
    peg: Decimal | None = None


def oso_base_price(req: BracketRequest) -> Decimal | None:
    if req.entry_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        return req.entry_price
    if req.entry_type is OrderType.STOP:
        return req.entry_stop
    return req.reference_price


def use_oso(req: BracketRequest) -> bool:
    leg = req.legs[0]
    return len(req.legs) == 1 and not leg.auto_trail and oso_base_price(req) is not None


def oso_exits(req: BracketRequest, tick: Decimal) -> list[Exit]:
    """Absolute TP then SL for a single-leg OSO."""
    base = oso_base_price(req)
    assert base is not None
    base = round_to_tick(base, tick)
    leg = req.legs[0]
    sign = 1 if req.side is Side.BUY else -1
    exits: list[Exit] = []
    if leg.take_profit is not None:
        exits.append(Exit(OrderType.LIMIT, price=base + sign * distance(leg.take_profit, tick)))
    if leg.stop_loss is not None:
        d = distance(leg.stop_loss, tick)
        stop = base - sign * d
        if leg.trailing:
            exits.append(Exit(OrderType.TRAILING_STOP, stop_price=stop, peg=d))
        else:
            exits.append(Exit(OrderType.STOP, stop_price=stop))
    return exits


def _leg_json(leg: BracketLeg, side: Side, tick: Decimal) -> dict[str, Any]:
    sign = 1 if side is Side.BUY else -1
    out: dict[str, Any] = {"qty": leg.qty, "trailingStop": leg.trailing}
    if leg.take_profit is not None:
        out["profitTarget"] = float(sign * distance(leg.take_profit, tick))
    if leg.stop_loss is not None:
        out["stopLoss"] = float(-sign * distance(leg.stop_loss, tick))
    if leg.auto_trail and leg.stop_loss is not None:
        out["trailingStop"] = False
        out["autoTrail"] = {
            "stopLoss": float(distance(leg.stop_loss, tick)),
            "trigger": float(round_to_tick(leg.trail_trigger or Decimal(0), tick)),
            "freq": float(distance(leg.trail_step or tick, tick)),
        }
    return out


def strategy_params(req: BracketRequest, tick: Decimal) -> dict[str, Any]:
    """The `params` object of a multibracket `startorderstrategy` (sent as a JSON string)."""
    entry: dict[str, Any] = {"orderQty": req.qty, "orderType": req.entry_type.value}
    if req.entry_price is not None:
        entry["price"] = float(round_to_tick(req.entry_price, tick))
    if req.entry_stop is not None:
        entry["stopPrice"] = float(round_to_tick(req.entry_stop, tick))
    return {"entryVersion": entry, "brackets": [_leg_json(g, req.side, tick) for g in req.legs]}
