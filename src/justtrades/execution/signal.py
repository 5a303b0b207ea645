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
import shlex
from decimal import Decimal

from justtrades.execution.signal_fields import (
    _ACTION_KEYS,
    _ACTION_WORDS,
    _EQUALS,
    _PLACEHOLDER,
    _PLACEHOLDER_IN_JSON,
    _PRICE_KEYS,
    _QUANTITY_KEYS,
    _TICKER_KEYS,
    _intent,
    _Raw,
)
from justtrades.execution.signal_intent import (
    MAX_BODY_BYTES,
    MAX_COMMENT_CHARS,
    MAX_QUANTITY,
    MAX_TICKER_CHARS,
    Action,
    AlertOverrides,
    SignalIntent,
)
from justtrades.execution.signal_values import NUMBER_TEXT as _NUMBER_TEXT
from justtrades.execution.signal_values import SignalError as SignalError
from justtrades.execution.signal_values import Unreadable as _Unreadable
from justtrades.execution.signal_values import describe_kind as _describe_kind
from justtrades.execution.signal_values import placeholder_error as _placeholder_error
from justtrades.execution.signal_values import show as _show
from justtrades.execution.signal_values import show_text as _show_text

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


__all__ = [
    "MAX_BODY_BYTES",
    "MAX_COMMENT_CHARS",
    "MAX_QUANTITY",
    "MAX_TICKER_CHARS",
    "Action",
    "AlertOverrides",
    "SignalError",
    "SignalIntent",
    "parse_signal",
]
