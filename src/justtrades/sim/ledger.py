"""Positions, fill pairs and cash from fills: FIFO pairing, P&L in dollars from tick values.

A position is the sum of its fills; `netPrice` is the average price of the lots still open; each
closing quantity is paired with the oldest open lot, and the pair's realized P&L is
(sell - buy) x qty x dollars per point.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from justtrades.sim.entities import CashBalance, Fill, FillPair, Position


def apply_fill(
    pos: Position,
    fill: Fill,
    point_value: Decimal,
    new_id: Callable[[], int],
    fills: dict[int, Fill],
) -> tuple[Decimal, list[FillPair]]:
    """Update `pos` with `fill`; return the realized dollars and the fill pairs made."""
    buy = fill.action == "Buy"
    if buy:
        pos.bought += fill.qty
        pos.boughtValue += fill.price * fill.qty
    else:
        pos.sold += fill.qty
        pos.soldValue += fill.price * fill.qty
    if pos.lots is None:
        pos.lots = []
    remaining = fill.qty if buy else -fill.qty
    realized = Decimal(0)
    pairs: list[FillPair] = []
    while remaining and pos.lots and (pos.lots[0][1] > 0) != (remaining > 0):
        lot = pos.lots[0]
        qty = min(abs(remaining), abs(lot[1]))
        lot_fill = fills[lot[0]]
        buy_fill, sell_fill = (fill, lot_fill) if buy else (lot_fill, fill)
        realized += (sell_fill.price - buy_fill.price) * qty * point_value
        pairs.append(
            FillPair(
                id=new_id(),
                positionId=pos.id,
                buyFillId=buy_fill.id,
                sellFillId=sell_fill.id,
                qty=qty,
                buyPrice=buy_fill.price,
                sellPrice=sell_fill.price,
            )
        )
        fill.finallyPaired += qty
        lot_fill.finallyPaired += qty
        pos.open_cost -= qty * lot[2]
        lot[1] += qty if lot[1] < 0 else -qty
        remaining += -qty if remaining > 0 else qty
        if lot[1] == 0:
            pos.lots.pop(0)
    if remaining:
        pos.lots.append([fill.id, remaining, fill.price])
        pos.open_cost += abs(remaining) * fill.price
    pos.netPos += fill.qty if buy else -fill.qty
    pos.netPrice = pos.open_cost / abs(pos.netPos) if pos.netPos else None
    pos.timestamp = fill.timestamp
    return realized, pairs


def book_realized(cash: CashBalance, realized: Decimal) -> None:
    cash.amount += realized
    cash.realizedPnL += realized
    cash.weekRealizedPnL += realized


def open_pnl(pos: Position, last_price: Decimal, point_value: Decimal) -> Decimal:
    if not pos.netPos or pos.netPrice is None:
        return Decimal(0)
    return (last_price - pos.netPrice) * pos.netPos * point_value
