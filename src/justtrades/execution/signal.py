"""Webhook body -> `SignalIntent` (SPEC §4). Pure: no I/O, no symbol resolution.

The body is JSON when it parses as a JSON object, whatever the content type says (TradingView
sends `application/json` only when the message is valid JSON, `text/plain` otherwise); any other
body is read as plain text (`buy MNQ1!`, `SELL NQH6 2`, `close`, `buy MNQ1! qty=3 tp=40 sl=20`).

Every problem raises `SignalError`, a `ValueError` whose text says exactly what is wrong, in
words a trader understands; the webhook shows it with a 4xx. Nothing else ever escapes
`parse_signal`, whatever the bytes.

Decisions where SPEC §4 is silent (see also the tests):
- Keys are matched case-insensitively and trimmed (when two keys differ only in case, the first
  in the body counts); a value that is null or blank text counts as
  "not given", so the next alias is tried. Unknown keys are ignored.
- `timenow` (the time the alert fired) is preferred over `time` (in TradingView, the bar's open
  time) when both are sent: it is the alert time. Epoch numbers of 10^11 and above are read as
  milliseconds. Times outside the years 2000 to 2099 are refused as implausible; an ISO time
  without an offset is taken as UTC.
- `position_size` and `prev_position_size` also accept TradingView's own names
  `market_position_size` and `prev_market_position_size`; they may be negative (Pine's
  `strategy.position_size` is signed). They never decide the action on their own.
- An invalid `market_position` or action word is an error even when the other one is valid.
- A leftover `{{placeholder}}` in any field this module reads is an error; in unknown keys it
  is ignored.
- Numbers must be plain decimal numbers (`2`, `"2"`, `21450.25`, `1e3`): NaN, Infinity, `true`
  and magnitudes of 10^15 and above are refused. A quantity is at most 10 000 contracts.
- `trail` and `breakeven` are switches (true/false, on/off, yes/no, 1/0); a distance such as
  `"trail": 20` is refused with a message, never guessed.
- The ticker is at most 64 characters; a comment longer than 500 characters is cut to 500.
- Plain text: separators are spaces, commas and semicolons; `key=value` tokens may appear
  anywhere (for the keys above also `key = value`; values may be quoted: `comment="two
  words"`); unknown keys are ignored as in JSON; the first other
  token is the action (unless an action key was given), then a ticker and/or a whole-number
  quantity in either order, and `@ 6000.25` or `@6000.25` gives the price. The same thing given
  twice (`buy MNQ1! 2 qty=3`) is an error.
- When the content type says JSON but the body is not JSON, it is still read as plain text; if
  that fails too, both problems are reported.
"""

from __future__ import annotations

import json
import re
import shlex
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from justtrades.execution.signal_values import NUMBER_TEXT as _NUMBER_TEXT
from justtrades.execution.signal_values import SignalError as SignalError
from justtrades.execution.signal_values import Unreadable as _Unreadable
from justtrades.execution.signal_values import describe_kind as _describe_kind
from justtrades.execution.signal_values import number as _number
from justtrades.execution.signal_values import placeholder_error as _placeholder_error
from justtrades.execution.signal_values import show as _show
from justtrades.execution.signal_values import show_text as _show_text
from justtrades.execution.signal_values import string as _string
from justtrades.execution.signal_values import switch as _bool
from justtrades.execution.signal_values import when as _when

MAX_BODY_BYTES = 64 * 1024
MAX_QUANTITY = 10_000
MAX_TICKER_CHARS = 64
MAX_COMMENT_CHARS = 500


class Action(StrEnum):
    BUY = "buy"
    SELL = "sell"
    CLOSE = "close"


class AlertOverrides(BaseModel):
    """Per-signal setting overrides from the alert; None = not given (inherit)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tp_ticks: Decimal | None = None
    sl_ticks: Decimal | None = None
    tp_dollars: Decimal | None = None
    sl_dollars: Decimal | None = None
    risk_dollars: Decimal | None = None
    trail: bool | None = None
    trail_trigger: Decimal | None = None
    trail_freq: Decimal | None = None
    breakeven: bool | None = None
    breakeven_offset: Decimal | None = None


class SignalIntent(BaseModel):
    """What one alert asks for, before any strategy or trader setting is applied."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    close_side: Literal["long", "short"] | None = None
    ticker: str | None = None
    quantity: int | None = Field(default=None, ge=1)
    price: Decimal | None = Field(default=None, gt=0)
    alert_time: datetime | None = None
    market_position: Literal["long", "short", "flat"] | None = None
    position_size: Decimal | None = None
    prev_position_size: Decimal | None = None
    overrides: AlertOverrides = Field(default_factory=AlertOverrides)
    comment: str | None = None


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


# --------------------------------------------------------------------------- entry point


def parse_signal(body: bytes, content_type: str | None = None) -> SignalIntent:
    """Read one webhook body. Raises `SignalError` (and nothing else) when it cannot."""
    try:
        return _parse(body, content_type)
    except SignalError:
        raise
    except (ValueError, ArithmeticError, RecursionError, TypeError) as exc:  # pragma: no cover
        # Defensive: every known problem is reported precisely above; this keeps the promise
        # that nothing but SignalError escapes if a case was missed.
        raise SignalError(f"the alert could not be read ({type(exc).__name__})") from exc


def _parse(body: bytes, content_type: str | None) -> SignalIntent:
    if len(body) > MAX_BODY_BYTES:
        raise SignalError(
            f"body too large: {len(body)} bytes (at most {MAX_BODY_BYTES} bytes are accepted)"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SignalError(
            f"body is not UTF-8 text: byte 0x{body[exc.start]:02x} at position {exc.start} "
            "cannot be read"
        ) from None
    text = text.removeprefix("\ufeff").strip()
    if not text:
        raise SignalError("empty body")
    try:
        raw = _read_json(text)
    except _NotJson as not_json:
        if not _is_json_type(content_type):
            return _intent(_read_text(text))
        try:
            return _intent(_read_text(text))
        except SignalError as text_exc:
            raise SignalError(f"{not_json.error}; read as plain text instead: {text_exc}") from None
    return _intent(raw)


class _NotJson(Exception):
    """The body is not JSON at all (and does not look like it): read it as plain text."""

    def __init__(self, error: SignalError) -> None:
        super().__init__(str(error))
        self.error = error


def _read_json(text: str) -> _Raw:
    looks_json = text[0] in "{["
    try:
        value = json.loads(
            text, parse_float=_json_float, parse_int=_json_int, parse_constant=Decimal
        )
    except RecursionError:
        raise SignalError("body is not a usable JSON object: it is nested too deeply") from None
    except json.JSONDecodeError as exc:
        if looks_json:
            raise _json_error(text, exc) from None
        raise _NotJson(_json_error(text, exc)) from None
    if not isinstance(value, dict):
        raise SignalError(
            f"body must be a JSON object, but it is {_describe_kind(value)}; send an object "
            'such as {"action": "buy", "ticker": "MNQ1!"}'
        )
    raw: _Raw = {}
    for key, item in value.items():
        name = str(key).strip().lower()
        raw.setdefault(name, item)
    return raw


def _json_float(text: str) -> Decimal | _Unreadable:
    try:
        return Decimal(text)
    except ArithmeticError:
        return _Unreadable(text, "is not a usable number")


def _json_int(text: str) -> int | _Unreadable:
    # Python refuses to convert more than 4300 digits; no field wants more than 15.
    return int(text) if len(text) <= 40 else _Unreadable(text, "is too large")


def _is_json_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _json_error(text: str, exc: json.JSONDecodeError) -> SignalError:
    found = _PLACEHOLDER.search(text)
    if found:
        keyed = _PLACEHOLDER_IN_JSON.search(text)
        if keyed:
            return _placeholder_error(keyed.group(1).strip().lower(), keyed.group(2))
        return SignalError(
            f"the TradingView placeholder {_show_text(found.group(0))} was not replaced; "
            "check its spelling and that the alert type provides it (strategy placeholders "
            "need a strategy alert)"
        )
    hint = ""
    if exc.msg.startswith("Expecting value") or exc.msg.startswith("Expecting ',' delimiter"):
        hint = (
            " (a placeholder that TradingView filled with nothing, or a double quote inside a "
            "text value, often causes this)"
        )
    return SignalError(
        f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}{hint}"
    )


# --------------------------------------------------------------------------- plain text


def _read_text(text: str) -> _Raw:
    lexer = shlex.shlex(_EQUALS.sub(r"\1=", text), posix=True)
    lexer.whitespace = " \t\r\n\f\v;,"
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError as exc:
        raise SignalError(f"plain-text alert cannot be read: {str(exc).lower()}") from None

    pairs: _Raw = {}
    positional: list[str] = []
    price: str | None = None
    at_pending = False
    for token in tokens:
        if at_pending or token.startswith("@"):
            if price is not None:
                raise SignalError(f"cannot read {_show_text(token)}: the price was already given")
            if at_pending:
                price, at_pending = token, False
            elif token == "@":
                at_pending = True
            else:
                price = token[1:]
            continue
        if "=" in token:
            key, _, value = token.partition("=")
            key = key.strip().lower()
            if not key:
                raise SignalError(f"cannot read {_show_text(token)}: a name is missing before '='")
            if key in pairs:
                raise SignalError(f"{key} is given twice")
            pairs[key] = value
            continue
        positional.append(token)
    if at_pending:
        raise SignalError("a price is missing after '@'")

    def put(group: tuple[str, ...], name: str, value: str) -> None:
        for key in group:
            if key in pairs:
                raise SignalError(
                    f"{name} is given twice: {_show_text(value)} and {key}={_show(pairs[key])}"
                )
        pairs[group[0]] = value

    have_action = any(key in pairs for key in _ACTION_KEYS)
    have_ticker = have_quantity = False
    for index, token in enumerate(positional):
        if index == 0 and not have_action:
            put(_ACTION_KEYS, "the action", token)
            have_action = True
        elif _NUMBER_TEXT.fullmatch(token):
            if have_quantity:
                raise SignalError(
                    f"cannot read {_show_text(token)}: the quantity was already given "
                    "(write prices as @ 21000.5 or price=21000.5)"
                )
            put(_QUANTITY_KEYS, "the quantity", token)
            have_quantity = True
        elif token.strip().lower() in _ACTION_WORDS:
            raise SignalError(f"cannot read {_show_text(token)}: the action was already given")
        elif not have_ticker:
            put(_TICKER_KEYS, "the ticker", token)
            have_ticker = True
        else:
            raise SignalError(
                f"cannot read {_show_text(token)}: expected the action word first, then a "
                "ticker, a quantity and name=value settings such as qty=2 or tp=40"
            )
    if price is not None:
        put(_PRICE_KEYS, "the price", price)
    return pairs


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
