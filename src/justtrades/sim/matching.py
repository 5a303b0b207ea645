"""When a working order executes against a last price, and how trailing stops follow it.

Prices here are integer ticks, so nothing can execute off the tick grid. Model: one last-trade
price per contract, no spread, unlimited liquidity at that price (every execution fills the whole
order). A resting limit fills at its own price, even when the market gaps through it; an
incoming (new, activated or modified) marketable limit fills at the market. A stop triggers when
the last price touches or crosses it and fills at the market, so a gap fills at the gap price.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Book:
    """What matching needs of one working order version: action, type and prices in ticks."""

    version_id: int
    buy: bool
    order_type: str
    limit: int | None
    stop: int | None
    peg: int | None
    trails: bool = False


def execution_price(b: Book, last: int, triggered: bool, fresh: bool) -> tuple[int | None, bool]:
    """(fill price or None, whether a StopLimit's stop has been triggered).

    `fresh`: the order is new, just activated or just modified (it takes the market price when
    marketable); otherwise it was resting and fills at its own limit."""
    kind = b.order_type
    if kind == "Market":
        return last, triggered
    if kind in ("Stop", "TrailingStop"):
        assert b.stop is not None
        touched = last >= b.stop if b.buy else last <= b.stop
        return (last if touched else None), triggered
    if kind == "StopLimit" and not triggered:
        assert b.stop is not None
        if not (last >= b.stop if b.buy else last <= b.stop):
            return None, False
        triggered, fresh = True, True
    assert b.limit is not None
    marketable = last <= b.limit if b.buy else last >= b.limit
    if not marketable:
        return None, triggered
    return (last if fresh else b.limit), triggered


def trailed_stop(buy: bool, stop: int, last: int, distance: int, step: int = 1) -> int:
    """A trailing stop's new level: `distance` ticks behind the last price, moved only in the
    trader's favour and only by at least `step` ticks."""
    candidate = last + distance if buy else last - distance
    improvement = stop - candidate if buy else candidate - stop
    return candidate if improvement >= max(step, 1) else stop
