"""Values of an alert: numbers, switches, times and text, checked one by one, and the words
used to show a bad value back to the trader. Pure; used by signal.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

_MAX_NUMBER = Decimal("1e15")
_MAX_NUMBER_CHARS = 100
_MS_THRESHOLD = Decimal("1e11")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_EARLIEST_EPOCH = Decimal(int((_EARLIEST - _EPOCH).total_seconds()))
_LATEST_EPOCH = Decimal(int((_LATEST - _EPOCH).total_seconds()))
_TRUE_WORDS = frozenset({"true", "on", "yes", "1"})
_FALSE_WORDS = frozenset({"false", "off", "no", "0"})
NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def storable(text: str) -> str:
    """The text as it can be stored and sent back: characters UTF-8 cannot encode (a lone
    surrogate from JSON's "\\ud800") are shown escaped, as `\\ud800`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


class SignalError(ValueError):
    """The body cannot be understood; str(e) says exactly what is wrong (shown to the user, 4xx)."""


class Unreadable:
    """A JSON number this module will not hold: 1e99999999999999999999999, or 40+ digits."""

    def __init__(self, text: str, problem: str) -> None:
        self.text = text
        self.problem = problem


def string(key: str, value: object, what: str) -> str:
    if not isinstance(value, str):
        raise SignalError(f"{key} must be {what}, not {show(value)}")
    text = value.strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise SignalError(f"{key} contains characters that are not valid text") from None
    return text


def number(key: str, value: object, *, signed: bool = False) -> Decimal:
    """A finite Decimal of sane size; negative only when `signed`."""
    number: Decimal
    if isinstance(value, bool):
        raise SignalError(f"{key} must be a number, not {show(value)}")
    if isinstance(value, int):
        if abs(value) >= _MAX_NUMBER:
            raise SignalError(f"{key} {show(value)} is too large")
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):  # pragma: no cover - JSON floats arrive as Decimal
        number = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_NUMBER_CHARS or not NUMBER_TEXT.fullmatch(text):
            raise SignalError(f"{key} {show_text(text)} is not a number")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise SignalError(f"{key} {show_text(text)} is not a usable number") from None
    elif isinstance(value, Unreadable):
        raise SignalError(f"{key} {show(value)} {value.problem}")
    else:
        raise SignalError(f"{key} must be a number, not {show(value)}")
    if not number.is_finite():
        raise SignalError(f"{key} {show(value)} is not a number")
    if abs(number) >= _MAX_NUMBER:
        raise SignalError(f"{key} {show(value)} is too large")
    if number.is_zero():
        number = abs(number)  # no "-0"
    if number < 0 and not signed:
        raise SignalError(f"{key} {show(value)} must not be negative")
    return number


def switch(key: str, value: object) -> bool:
    """true/false, on/off, yes/no, 1/0."""
    if isinstance(value, bool):
        return value
    is_number = isinstance(value, int) or (isinstance(value, Decimal) and value.is_finite())
    if is_number and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise SignalError(f"{key} must be true or false (on/off, yes/no, 1/0), not {show(value)}")


def when(key: str, value: object) -> datetime:
    """An ISO time, or epoch seconds or milliseconds, as an aware UTC datetime."""
    when: datetime
    if isinstance(value, str) and not NUMBER_TEXT.fullmatch(value.strip()):
        text = value.strip()
        try:
            when = datetime.fromisoformat(text)
            when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        except (ValueError, OverflowError):
            raise SignalError(
                f"{key} {show_text(text)} is not a time; send an ISO time such as "
                "2026-11-27T14:30:00Z ({{timenow}}) or epoch seconds or milliseconds"
            ) from None
    else:
        try:
            seconds = number(key, value, signed=True)
        except SignalError:
            raise SignalError(
                f"{key} {show(value)} is not a time; send an ISO time such as "
                "2026-11-27T14:30:00Z ({{timenow}}) or epoch seconds or milliseconds"
            ) from None
        if abs(seconds) >= _MS_THRESHOLD:
            seconds = seconds / 1000
        if not (_EARLIEST_EPOCH <= seconds < _LATEST_EPOCH):
            raise SignalError(
                f"{key} {show(value)} is not a plausible alert time "
                "(expected a time between 2000 and 2099)"
            )
        when = _EPOCH + timedelta(microseconds=int(seconds * 1_000_000))
    if not (_EARLIEST <= when < _LATEST):
        raise SignalError(
            f"{key} {show(value)} is not a plausible alert time "
            f"(it reads as {when.isoformat()}; expected a time between 2000 and 2099)"
        )
    return when


# --------------------------------------------------------------------------- messages


def placeholder_error(key: str, placeholder: str) -> SignalError:
    return SignalError(
        f"{key} is {show_text(placeholder)}: the TradingView placeholder was not replaced; "
        "check its spelling and that the alert type provides it (strategy placeholders need "
        "a strategy alert)"
    )


def show_text(text: str, limit: int = 60) -> str:
    if len(text) > limit:
        text = text[:limit] + "..."
    return '"' + text + '"'


def show(value: object) -> str:
    if isinstance(value, str):
        return show_text(value.strip())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        digits = len(str(abs(value))) if abs(value) < 10**60 else 61
        return str(value) if digits <= 60 else f"a number with {digits}+ digits"
    if isinstance(value, Decimal):
        text = str(value)
        return text if len(text) <= 60 else text[:60] + "..."
    if isinstance(value, Unreadable):
        return show_text(value.text).strip('"')
    return describe_kind(value)


def describe_kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "true/false"
    return "a number"
