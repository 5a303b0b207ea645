"""Distances and leg sizes that settings imply: a TP/SL amount in its units as ticks and as a
price distance, and the quantities of multi-leg take profits (SPEC §6). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from justtrades.execution.settings import TpTarget
from justtrades.instruments import InstrumentSpec


def _round_half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def distance_ticks(
    amount: Decimal, units: str, spec: InstrumentSpec, entry_price: Decimal | None
) -> int:
    """A TP/SL amount in `units` as a whole number of ticks (half a tick rounds up; at least
    one tick when amount > 0).

    ticks: the amount; points: amount / tick_size; dollars (per contract): amount / tick_value;
    percent: entry_price x amount / 100, in ticks (entry_price required).
    """
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"a distance is a finite amount >= 0, got {amount}")
    if units not in ("ticks", "points", "dollars", "percent"):
        raise ValueError(f"unknown units {units!r}: ticks, points, dollars or percent")
    if amount == 0:
        return 0
    if units == "ticks":
        raw = amount
    elif units == "points":
        raw = amount / spec.tick_size
    elif units == "dollars":
        raw = amount / spec.tick_value
    else:  # percent
        if entry_price is None or not entry_price.is_finite() or entry_price <= 0:
            raise ValueError("a percent distance needs the entry price")
        raw = entry_price * amount / 100 / spec.tick_size
    return max(1, _round_half_up(raw))


def price_distance(
    amount: Decimal, units: str, spec: InstrumentSpec, entry_price: Decimal | None
) -> Decimal:
    """The same distance in price points, on the instrument's tick grid.

    MNQ (tick 0.25, $0.50): 20 ticks -> 5.00; 5 points -> 5.00; $10 -> 20 ticks -> 5.00;
    0.1 % of 20000 -> 20.00. ES ($12.50): $30 -> 2.4 ticks -> 2 ticks -> 0.50.
    """
    return spec.tick_size * distance_ticks(amount, units, spec, entry_price)


def tp_leg_quantities(
    total: int, targets: Sequence[TpTarget], trim_units: str, multiplier: Decimal
) -> list[int]:
    """Contracts per take-profit leg for a position of `total` (SPEC §6).

    Contracts mode: `min(max(1, round(trim x multiplier)), remaining)`; percent mode:
    `max(1, round(total x trim / 100))` capped at the remaining quantity (the multiplier is
    already in `total`). The last leg takes what remains; rounding is half up. Legs never sum
    past the position: once it is used up, the later legs get 0 and are dropped, so the result
    is a prefix of `targets` (result[i] belongs to targets[i]) and sums to `total` when
    `targets` is not empty.

    >>> c = lambda *trims: [TpTarget(ticks=Decimal(10), trim=Decimal(t)) for t in trims]
    >>> tp_leg_quantities(3, c(1, 1, 1), "contracts", Decimal(1))
    [1, 1, 1]
    >>> tp_leg_quantities(15, c(1, 1, 1), "contracts", Decimal(5))  # not 1, 1, 13
    [5, 5, 5]
    >>> tp_leg_quantities(2, c(50, 50), "percent", Decimal(1))
    [1, 1]
    >>> tp_leg_quantities(7, c(100), "percent", Decimal(1))
    [7]
    >>> tp_leg_quantities(2, c(1, 1, 1), "contracts", Decimal(1))  # third leg dropped
    [1, 1]
    """
    if total < 0:
        raise ValueError(f"position size must be >= 0, got {total}")
    if trim_units not in ("contracts", "percent"):
        raise ValueError(f"unknown trim_units {trim_units!r}: contracts or percent")
    if not multiplier.is_finite() or multiplier <= 0:
        raise ValueError(f"multiplier must be > 0, got {multiplier}")
    sizes: list[int] = []
    remaining = total
    for i, target in enumerate(targets):
        if remaining <= 0:
            break
        if i == len(targets) - 1:
            qty = remaining
        elif trim_units == "contracts":
            qty = max(1, _round_half_up(target.trim * multiplier))
        else:
            qty = max(1, _round_half_up(total * target.trim / 100))
        qty = min(qty, remaining)
        sizes.append(qty)
        remaining -= qty
    return sizes
