"""The alert parser's vocabulary (the keys and words it knows) and the reading of each field
from the raw keys of a body (execution/signal.py)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import ValidationError

from justtrades.execution.signal_intent import (
    MAX_COMMENT_CHARS,
    MAX_QUANTITY,
    MAX_TICKER_CHARS,
    Action,
    AlertOverrides,
    SignalIntent,
)
from justtrades.execution.signal_values import SignalError as SignalError
from justtrades.execution.signal_values import number as _number
from justtrades.execution.signal_values import placeholder_error as _placeholder_error
from justtrades.execution.signal_values import show as _show
from justtrades.execution.signal_values import show_text as _show_text
from justtrades.execution.signal_values import string as _string
from justtrades.execution.signal_values import switch as _bool
from justtrades.execution.signal_values import when as _when

# --------------------------------------------------------------------------- vocabulary

_ACTION_KEYS = ("action", "order_action", "side", "signal")
_POSITION_KEYS = ("market_position", "position")
_POSITION_SIZE_KEYS = ("position_size", "market_position_size")
_PREV_POSITION_SIZE_KEYS = ("prev_position_size", "prev_market_position_size")
_TICKER_KEYS = ("ticker", "symbol", "instrument")
_QUANTITY_KEYS = ("quantity", "qty", "contracts", "size")
_PRICE_KEYS = ("price", "close")
_TIME_KEYS = ("timenow", "time")
_NUMBER_OVERRIDES: dict[str, tuple[str, ...]] = {
    "tp_ticks": ("tp_ticks", "tp"),
    "sl_ticks": ("sl_ticks", "sl"),
    "tp_dollars": ("tp_dollars",),
    "sl_dollars": ("sl_dollars",),
    "risk_dollars": ("risk_dollars",),
    "trail_trigger": ("trail_trigger",),
    "trail_freq": ("trail_freq",),
    "breakeven_offset": ("breakeven_offset",),
}
_BOOL_OVERRIDES: dict[str, tuple[str, ...]] = {
    "trail": ("trail",),
    "breakeven": ("breakeven",),
}
_COMMENT_KEYS = ("comment",)

_KNOWN_KEYS: tuple[str, ...] = (
    *_ACTION_KEYS,
    *_POSITION_KEYS,
    *_POSITION_SIZE_KEYS,
    *_PREV_POSITION_SIZE_KEYS,
    *_TICKER_KEYS,
    *_QUANTITY_KEYS,
    *_PRICE_KEYS,
    *_TIME_KEYS,
    *(k for keys in _NUMBER_OVERRIDES.values() for k in keys),
    *(k for keys in _BOOL_OVERRIDES.values() for k in keys),
    *_COMMENT_KEYS,
)

_ACTION_WORDS: dict[str, tuple[Action, Literal["long", "short"] | None]] = {
    "buy": (Action.BUY, None),
    "long": (Action.BUY, None),
    "sell": (Action.SELL, None),
    "short": (Action.SELL, None),
    "close": (Action.CLOSE, None),
    "exit": (Action.CLOSE, None),
    "flat": (Action.CLOSE, None),
    "flatten": (Action.CLOSE, None),
    "closelong": (Action.CLOSE, "long"),
    "close_long": (Action.CLOSE, "long"),
    "exit_long": (Action.CLOSE, "long"),
    "closeshort": (Action.CLOSE, "short"),
    "close_short": (Action.CLOSE, "short"),
    "exit_short": (Action.CLOSE, "short"),
}
_ACTION_LIST = ", ".join(_ACTION_WORDS)
_POSITION_WORDS: dict[str, Literal["long", "short", "flat"]] = {
    "long": "long",
    "short": "short",
    "flat": "flat",
}
_POSITION_ACTION: dict[str, Action] = {
    "long": Action.BUY,
    "short": Action.SELL,
    "flat": Action.CLOSE,
}

_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}")
_PLACEHOLDER_IN_JSON = re.compile(r'"([^"\\]{1,64})"\s*:\s*"?\s*(\{\{[^{}]{0,200}\}\})')
_EQUALS = re.compile(r"(?<![^\s,;])(" + "|".join(_KNOWN_KEYS) + r")[ \t]*=[ \t]*", re.IGNORECASE)


_Raw = dict[str, object]


# --------------------------------------------------------------------------- fields


def _intent(raw: _Raw) -> SignalIntent:
    for key in _KNOWN_KEYS:
        value = raw.get(key)
        if isinstance(value, str):
            found = _PLACEHOLDER.search(value)
            if found:
                raise _placeholder_error(key, found.group(0))

    action, close_side = _resolve_action(raw)
    position = _first(raw, _POSITION_KEYS)
    market_position: Literal["long", "short", "flat"] | None = None
    if position is not None:
        market_position = _position_word(*position)
        decided = _POSITION_ACTION[market_position]
        if decided is not Action.CLOSE or action is not Action.CLOSE:
            close_side = None
        action = decided
    if action is None:
        raise SignalError(
            "no action: send action (buy, sell, close, closelong, closeshort, ...) or "
            "market_position (long, short or flat)"
        )

    numbers = _NUMBER_OVERRIDES
    overrides = AlertOverrides(
        tp_ticks=_opt_number(raw, numbers["tp_ticks"]),
        sl_ticks=_opt_number(raw, numbers["sl_ticks"]),
        tp_dollars=_opt_number(raw, numbers["tp_dollars"]),
        sl_dollars=_opt_number(raw, numbers["sl_dollars"]),
        risk_dollars=_opt_number(raw, numbers["risk_dollars"]),
        trail=_opt_bool(raw, _BOOL_OVERRIDES["trail"]),
        trail_trigger=_opt_number(raw, numbers["trail_trigger"]),
        trail_freq=_opt_number(raw, numbers["trail_freq"]),
        breakeven=_opt_bool(raw, _BOOL_OVERRIDES["breakeven"]),
        breakeven_offset=_opt_number(raw, numbers["breakeven_offset"]),
    )
    price = _opt_number(raw, _PRICE_KEYS, positive=True)
    try:
        return SignalIntent(
            action=action,
            close_side=close_side,
            ticker=_ticker(raw),
            quantity=_quantity(raw),
            price=price,
            alert_time=_time(raw),
            market_position=market_position,
            position_size=_opt_number(raw, _POSITION_SIZE_KEYS, signed=True),
            prev_position_size=_opt_number(raw, _PREV_POSITION_SIZE_KEYS, signed=True),
            overrides=overrides,
            comment=_comment(raw),
        )
    except ValidationError as exc:  # pragma: no cover - values are checked above
        raise SignalError(f"the alert could not be read: {exc.errors()[0]['msg']}") from None


def _first(raw: _Raw, keys: tuple[str, ...]) -> tuple[str, object] | None:
    """The first alias with a value; null and blank text count as not given."""
    for key in keys:
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        return key, value
    return None


def _resolve_action(raw: _Raw) -> tuple[Action | None, Literal["long", "short"] | None]:
    given = _first(raw, _ACTION_KEYS)
    if given is None:
        return None, None
    key, value = given
    if not isinstance(value, str):
        raise SignalError(
            f"{key} must be a word such as buy, sell or close, not {_show(value)}; "
            f"accepted words: {_ACTION_LIST}"
        )
    word = value.strip().lower()
    if word not in _ACTION_WORDS:
        raise SignalError(
            f"{key} {_show_text(value.strip())} is not an action; accepted words: {_ACTION_LIST}"
        )
    return _ACTION_WORDS[word]


def _position_word(key: str, value: object) -> Literal["long", "short", "flat"]:
    word = value.strip().lower() if isinstance(value, str) else None
    if word is None or word not in _POSITION_WORDS:
        raise SignalError(f"{key} {_show(value)} is not a position; use long, short or flat")
    return _POSITION_WORDS[word]


def _ticker(raw: _Raw) -> str | None:
    given = _first(raw, _TICKER_KEYS)
    if given is None:
        return None
    key, value = given
    ticker = _string(key, value, "a symbol such as MNQ1! or NQH6")
    if len(ticker) > MAX_TICKER_CHARS:
        raise SignalError(
            f"{key} {_show_text(ticker)} is too long to be a symbol "
            f"(at most {MAX_TICKER_CHARS} characters)"
        )
    return ticker


def _comment(raw: _Raw) -> str | None:
    given = _first(raw, _COMMENT_KEYS)
    if given is None:
        return None
    key, value = given
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        value = str(value)
    return _string(key, value, "text")[:MAX_COMMENT_CHARS]


def _opt_number(
    raw: _Raw, keys: tuple[str, ...], *, positive: bool = False, signed: bool = False
) -> Decimal | None:
    given = _first(raw, keys)
    if given is None:
        return None
    key, value = given
    number = _number(key, value, signed=signed)
    if positive and number <= 0:
        raise SignalError(f"{key} {_show(value)} must be greater than 0")
    return number


def _quantity(raw: _Raw) -> int | None:
    given = _first(raw, _QUANTITY_KEYS)
    if given is None:
        return None
    key, value = given
    number = _number(key, value, signed=True)
    if number != number.to_integral_value():
        raise SignalError(f"{key} {_show(value)} must be a whole number of contracts")
    if number < 1:
        raise SignalError(f"{key} {_show(value)} must be at least 1 contract")
    if number > MAX_QUANTITY:
        raise SignalError(f"{key} {_show(value)} is too large (at most {MAX_QUANTITY} contracts)")
    return int(number)


def _opt_bool(raw: _Raw, keys: tuple[str, ...]) -> bool | None:
    given = _first(raw, keys)
    return None if given is None else _bool(*given)


def _time(raw: _Raw) -> datetime | None:
    given = _first(raw, _TIME_KEYS)
    return None if given is None else _when(*given)
