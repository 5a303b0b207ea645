"""The planner: what to send for one trader and one signal. Pure.

`plan(intent, settings, position, contract, reference_price)` decides against the broker's real
position (SPEC §6):

| signal vs broker position | plan |
|---|---|
| entry, flat | one bracket: entry with its TP legs and SL, placed atomically |
| entry, same side, DCA off | flatten (cancels its orders), then a fresh bracket at initial size |
| entry, same side, DCA on | an add (not yet supported: recorded as skipped) |
| entry, opposite side | per `opposite_signal`: flatten then enter, flatten only, or nothing |
| close, position open | flatten: cancel the symbol's working orders and close (one call) |
| close, flat | nothing, recorded as such — never an entry |

A plan prints as the explanation shown for every execution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from justtrades.brokers.base import BracketLeg, Position, Side
from justtrades.execution.settings import EffectiveSettings
from justtrades.execution.signal import Action, SignalIntent
from justtrades.execution.sizing import price_distance, tp_leg_quantities
from justtrades.instruments import Contract


@dataclass(frozen=True)
class Flatten:
    reason: str

    def describe(self) -> str:
        return f"flatten ({self.reason})"


@dataclass(frozen=True)
class Enter:
    """A market entry with its exits (a bracket), or a plain market order when it has none."""

    side: Side
    qty: int
    legs: tuple[BracketLeg, ...] = ()

    def describe(self) -> str:
        parts = [f"{self.side.value.lower()} {self.qty} at market"]
        for i, leg in enumerate(self.legs, 1):
            exits = []
            if leg.take_profit is not None:
                exits.append(f"TP +{leg.take_profit}")
            if leg.stop_loss is not None:
                kind = "trailing SL" if leg.trailing or leg.auto_trail else "SL"
                exits.append(f"{kind} -{leg.stop_loss}")
            parts.append(f"leg {i}: {leg.qty} ({', '.join(exits) or 'no exit'})")
        return "; ".join(parts)


Step = Flatten | Enter


@dataclass(frozen=True)
class Plan:
    symbol: str
    steps: tuple[Step, ...] = ()
    note: str = ""
    warnings: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        lines = [f"{self.symbol}: {self.note}"] if self.note else [self.symbol]
        lines += [f"{i}. {step.describe()}" for i, step in enumerate(self.steps, 1)]
        return "\n".join(lines)


def _round_qty(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def entry_quantity(
    intent: SignalIntent, settings: EffectiveSettings, contract: Contract
) -> tuple[int, list[str]]:
    """Contracts for a fresh entry: the alert's quantity, or risk_dollars / stop value, or
    initial_position_size; times the multiplier; at least 1; within both caps."""
    warnings: list[str] = []
    base = Decimal(settings.initial_position_size)
    if intent.position_size is not None and intent.position_size != 0:
        # The strategy's target size: TradingView's order size on a reversal also counts the
        # contracts that close the old side, the target does not.
        base = abs(intent.position_size)
    elif intent.quantity is not None:
        base = Decimal(intent.quantity)
    risk = intent.overrides.risk_dollars
    if risk is not None:
        if settings.sl_enabled and settings.sl_amount > 0:
            stop = price_distance(settings.sl_amount, settings.sl_units, contract.spec, None)
            stop_dollars = stop / contract.spec.tick_size * contract.spec.tick_value
            base = max(Decimal(1), (risk / stop_dollars).to_integral_value(rounding=ROUND_DOWN))
        else:
            warnings.append("risk_dollars ignored: no stop loss to size it against")
    qty = max(1, _round_qty(base * settings.multiplier))
    for cap_name, cap in (
        ("max_contracts_per_trade", settings.max_contracts_per_trade),
        ("max_contracts", settings.max_contracts),
    ):
        if cap and qty > cap:
            warnings.append(f"{qty} contracts capped to {cap} by {cap_name}")
            qty = cap
    return qty, warnings


def exit_legs(
    qty: int, settings: EffectiveSettings, contract: Contract, reference_price: Decimal | None
) -> tuple[BracketLeg, ...]:
    """The TP legs (sized by SPEC §6's trim rules) each with the stop; a stop alone when there
    is no target."""
    spec = contract.spec
    stop: Decimal | None = None
    if settings.sl_enabled and settings.sl_amount > 0:
        stop = price_distance(settings.sl_amount, settings.sl_units, spec, reference_price)
    trailing = settings.sl_type == "trailing" and stop is not None
    trigger = step = None
    if trailing and settings.trail_trigger > 0:
        trigger = settings.trail_trigger * spec.tick_size
        step = max(settings.trail_freq, Decimal(1)) * spec.tick_size
    targets = [t for t in settings.tp_targets if t.ticks > 0]
    if not targets:
        if stop is None:
            return ()
        return (BracketLeg(qty, None, stop, trailing and trigger is None, trigger, step),)
    sizes = tp_leg_quantities(qty, targets, settings.trim_units, settings.multiplier)
    legs = []
    for target, size in zip(targets, sizes, strict=False):
        tp = price_distance(target.ticks, settings.tp_units, spec, reference_price)
        legs.append(BracketLeg(size, tp, stop, trailing and trigger is None, trigger, step))
    return tuple(legs)


def plan(
    intent: SignalIntent,
    settings: EffectiveSettings,
    position: Position,
    contract: Contract,
    reference_price: Decimal | None = None,
) -> Plan:
    symbol = contract.name
    action = intent.action
    close_side = intent.close_side
    target = intent.market_position
    if settings.inverse_signals:
        swap = {"long": "short", "short": "long"}
        if action is not Action.CLOSE:
            action = Action.SELL if action is Action.BUY else Action.BUY
        close_side = swap.get(close_side, close_side) if close_side else None  # type: ignore[assignment]
        target = swap.get(target, target) if target else None  # type: ignore[assignment]
    held = "flat" if position.is_flat else ("long" if position.net_pos > 0 else "short")

    if action is Action.CLOSE:
        if position.is_flat:
            return Plan(symbol, note="close while flat: nothing to do")
        if close_side is not None and close_side != held:
            return Plan(symbol, note=f"close {close_side} while {held}: nothing to do")
        return Plan(symbol, (Flatten(f"close signal, position {position.net_pos}"),), "close")

    if target in ("long", "short") and target == held:
        # A target-position alert (market_position) whose side is already held: a scale-in or
        # scale-out of the strategy, or a repeat. Never a close and re-entry.
        return Plan(symbol, note=f"already {held}: the alert's target side is held")

    side = Side.BUY if action is Action.BUY else Side.SELL
    blocked = (settings.direction_filter == "long_only" and side is Side.SELL) or (
        settings.direction_filter == "short_only" and side is Side.BUY
    )
    qty, warnings = entry_quantity(intent, settings, contract)
    enter = Enter(side, qty, exit_legs(qty, settings, contract, reference_price))

    if position.is_flat:
        if blocked:
            return Plan(symbol, note=f"{side.value.lower()} entries blocked by direction_filter")
        return Plan(symbol, (enter,), "entry from flat", tuple(warnings))

    same_side = (position.net_pos > 0) == (side is Side.BUY)
    if same_side:
        if settings.same_direction_ignore:
            return Plan(symbol, note="same-side signal ignored (same_direction_ignore)")
        if settings.dca_enabled:
            return Plan(symbol, note="DCA add: not supported yet, nothing sent")
        if blocked:
            note = "close only (a fresh entry is blocked by direction_filter)"
            return Plan(symbol, (Flatten("same-side signal with DCA off"),), note)
        return Plan(
            symbol,
            (Flatten("same-side signal with DCA off: fresh bracket"), enter),
            "close, then a fresh bracket at initial size",
            tuple(warnings),
        )

    if settings.opposite_signal == "ignore":
        return Plan(symbol, note="opposite signal ignored (opposite_signal = ignore)")
    close = Flatten(f"opposite signal, position {position.net_pos}")
    if settings.opposite_signal == "close" or blocked:
        note = "close only" + (" (entry blocked by direction_filter)" if blocked else "")
        return Plan(symbol, (close,), note)
    return Plan(symbol, (close, enter), "reverse: close, then enter", tuple(warnings))
