"""parse_signal: webhook bodies (JSON and plain text) -> SignalIntent, or a precise SignalError."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from justtrades.execution.signal import (
    MAX_BODY_BYTES,
    Action,
    AlertOverrides,
    SignalError,
    SignalIntent,
    parse_signal,
)


def js(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def parse(**fields: Any) -> SignalIntent:
    return parse_signal(js(**fields), "application/json")


def error(body: bytes | str, content_type: str | None = None) -> str:
    raw = body.encode() if isinstance(body, str) else body
    with pytest.raises(SignalError) as info:
        parse_signal(raw, content_type)
    return str(info.value)


# --------------------------------------------------------------------------- actions

ACTION_WORDS = [
    ("buy", Action.BUY, None),
    ("long", Action.BUY, None),
    ("sell", Action.SELL, None),
    ("short", Action.SELL, None),
    ("close", Action.CLOSE, None),
    ("exit", Action.CLOSE, None),
    ("flat", Action.CLOSE, None),
    ("flatten", Action.CLOSE, None),
    ("closelong", Action.CLOSE, "long"),
    ("close_long", Action.CLOSE, "long"),
    ("exit_long", Action.CLOSE, "long"),
    ("closeshort", Action.CLOSE, "short"),
    ("close_short", Action.CLOSE, "short"),
    ("exit_short", Action.CLOSE, "short"),
]


@pytest.mark.parametrize(("word", "action", "side"), ACTION_WORDS)
@pytest.mark.parametrize("key", ["action", "order_action", "side", "signal"])
def test_every_action_word_under_every_alias(
    key: str, word: str, action: Action, side: str | None
) -> None:
    intent = parse_signal(js(**{key: word}))
    assert intent.action is action
    assert intent.close_side == side


@pytest.mark.parametrize(("word", "action", "side"), ACTION_WORDS)
def test_action_words_are_case_insensitive_and_trimmed(
    word: str, action: Action, side: str | None
) -> None:
    for variant in (word.upper(), word.title(), f"  {word} \t"):
        intent = parse(action=variant)
        assert (intent.action, intent.close_side) == (action, side)


@pytest.mark.parametrize(("word", "action", "side"), ACTION_WORDS)
def test_action_words_in_plain_text(word: str, action: Action, side: str | None) -> None:
    intent = parse_signal(f"{word.upper()} MNQ1!".encode(), "text/plain")
    assert (intent.action, intent.close_side, intent.ticker) == (action, side, "MNQ1!")


def test_keys_are_case_insensitive() -> None:
    intent = parse_signal(b'{"ACTION": "Buy", "Ticker": "NQH6", "QTY": 2, "Price": "100.5"}')
    assert intent.action is Action.BUY
    assert intent.ticker == "NQH6"
    assert intent.quantity == 2
    assert intent.price == Decimal("100.5")


def test_first_non_empty_action_alias_wins() -> None:
    assert parse(action="sell", order_action="buy").action is Action.SELL
    assert parse(action="", order_action="buy").action is Action.BUY
    assert parse(action=None, side="  ", signal="close").action is Action.CLOSE


def test_sell_never_means_close_long() -> None:
    intent = parse(action="sell")
    assert intent.action is Action.SELL
    assert intent.close_side is None


def test_unknown_action_names_the_value_and_lists_the_words() -> None:
    message = error(js(action="purchase"))
    assert '"purchase"' in message
    assert "action" in message
    for word in ("buy", "sell", "close", "closelong", "exit_short", "flatten"):
        assert word in message


def test_action_that_is_not_text() -> None:
    assert "action must be a word" in error(js(action=1))
    assert "an object" in error(js(side={"x": 1}))


def test_no_action_at_all() -> None:
    assert error(js(ticker="MNQ1!")).startswith("no action:")
    assert error(js(action="", market_position=None)).startswith("no action:")
    assert error("ticker=MNQ1! qty=2").startswith("no action:")


# --------------------------------------------------------------------------- market position


@pytest.mark.parametrize(
    ("position", "action"),
    [("flat", Action.CLOSE), ("long", Action.BUY), ("short", Action.SELL), ("FLAT", Action.CLOSE)],
)
@pytest.mark.parametrize("key", ["market_position", "position"])
def test_market_position_decides_the_action(key: str, position: str, action: Action) -> None:
    intent = parse_signal(js(**{key: position}))
    assert intent.action is action
    assert intent.market_position == position.lower()


def test_flat_closes_even_when_the_action_says_buy() -> None:
    intent = parse(action="buy", market_position="flat", ticker="MNQ1!")
    assert intent.action is Action.CLOSE
    assert intent.market_position == "flat"
    assert intent.close_side is None


def test_position_overrides_action_both_ways() -> None:
    assert parse(action="sell", market_position="long").action is Action.BUY
    assert parse(action="buy", position="short").action is Action.SELL
    # a side-specific close stays side-specific when the position agrees it is a close
    assert parse(action="closelong", position="flat").close_side == "long"
    # ... and is dropped when the position turns it into an entry
    intent = parse(action="closelong", position="short")
    assert (intent.action, intent.close_side) == (Action.SELL, None)


def test_invalid_market_position_is_an_error() -> None:
    message = error(js(action="buy", market_position="bullish"))
    assert "market_position" in message
    assert '"bullish"' in message
    assert "long, short or flat" in message
    assert "position 2 is not a position" in error(js(position=2))


def test_position_sizes_are_carried_as_decimals() -> None:
    intent = parse(action="sell", market_position="flat", position_size="0", prev_position_size=3)
    assert intent.position_size == Decimal(0)
    assert intent.prev_position_size == Decimal(3)
    signed = parse(action="sell", position_size="-2", prev_market_position_size="1.5")
    assert signed.position_size == Decimal(-2)
    assert signed.prev_position_size == Decimal("1.5")
    assert parse(action="buy", market_position_size=4).position_size == Decimal(4)


def test_position_size_alone_does_not_decide() -> None:
    assert error(js(position_size=0)).startswith("no action:")


def test_size_and_position_size_are_different_keys() -> None:
    intent = parse(action="buy", size=2, position_size=5)
    assert intent.quantity == 2
    assert intent.position_size == Decimal(5)


# --------------------------------------------------------------------------- ticker


@pytest.mark.parametrize("key", ["ticker", "symbol", "instrument"])
@pytest.mark.parametrize("ticker", ["NQ1!", "CME_MINI:MNQ1!", "NQH6", "NQH2026", "MNQ"])
def test_ticker_aliases_keep_the_symbol_as_given(key: str, ticker: str) -> None:
    assert parse_signal(js(action="buy", **{key: f" {ticker} "})).ticker == ticker


def test_ticker_alias_order_and_missing_ticker() -> None:
    assert parse(action="buy", symbol="ES1!", ticker="NQ1!").ticker == "NQ1!"
    assert parse(action="buy", ticker="", symbol="ES1!").ticker == "ES1!"
    assert parse(action="buy").ticker is None


def test_bad_ticker() -> None:
    assert "ticker must be a symbol" in error(js(action="buy", ticker=5))
    assert "too long" in error(js(action="buy", ticker="X" * 65))


# --------------------------------------------------------------------------- quantity


@pytest.mark.parametrize("key", ["quantity", "qty", "contracts", "size"])
@pytest.mark.parametrize(
    ("value", "expected"), [(2, 2), ("2", 2), ("  3 ", 3), (2.0, 2), ("1e1", 10)]
)
def test_quantity_aliases_and_numbers_as_strings(key: str, value: object, expected: int) -> None:
    assert parse_signal(js(action="buy", **{key: value})).quantity == expected


def test_quantity_alias_order() -> None:
    assert parse(action="buy", qty=3, quantity=1).quantity == 1
    assert parse(action="buy", quantity="", contracts=4).quantity == 4


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (2.5, "whole number"),
        ("2.5", "whole number"),
        (0, "at least 1"),
        (-1, "at least 1"),
        ("abc", "not a number"),
        (True, "must be a number"),
        ([1], "must be a number"),
        (10_001, "too large"),
    ],
)
def test_quantity_validation(value: object, fragment: str) -> None:
    message = error(js(action="buy", qty=value))
    assert message.startswith("qty ")
    assert fragment in message


def test_huge_and_non_finite_quantities() -> None:
    assert "too large" in error(b'{"action": "buy", "qty": 1e400}')
    assert "too large" in error(b'{"action": "buy", "qty": ' + b"1" * 400 + b"}")
    assert "not a usable number" in error(b'{"action": "buy", "qty": 1e99999999999999999999999}')
    assert "not a number" in error(b'{"action": "buy", "qty": NaN}')
    assert "not a number" in error(b'{"action": "buy", "qty": Infinity}')
    assert "not a number" in error(js(action="buy", qty="Infinity"))
    assert "qty" in error(b'{"action": "buy", "qty": ' + b"9" * 5000 + b"}")


# --------------------------------------------------------------------------- price and time


def test_price_aliases() -> None:
    assert parse(action="buy", price=21450.25).price == Decimal("21450.25")
    assert parse(action="buy", close="6000.5").price == Decimal("6000.5")
    assert parse(action="buy", price="", close=10).price == Decimal(10)
    assert parse(action="buy").price is None


def test_price_is_exact_decimal() -> None:
    assert parse_signal(b'{"action": "buy", "price": 0.1}').price == Decimal("0.1")


@pytest.mark.parametrize("value", [0, -5, "0", "-1.25"])
def test_price_must_be_positive(value: object) -> None:
    message = error(js(action="buy", price=value))
    assert message.startswith("price ")


def test_bad_price() -> None:
    assert "price" in error(js(action="buy", price="cheap"))
    assert "price NaN" in error(b'{"action": "buy", "price": NaN}')


FIRE = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-27T14:30:00Z",
        "2026-11-27T14:30:00+00:00",
        "2026-11-27T08:30:00-06:00",
        "2026-11-27T14:30:00",  # no offset: UTC
        "2026-11-27 14:30:00Z",
        int(FIRE.timestamp()),
        str(int(FIRE.timestamp())),
        int(FIRE.timestamp()) * 1000,
        str(int(FIRE.timestamp()) * 1000),
        float(FIRE.timestamp()),
    ],
)
@pytest.mark.parametrize("key", ["time", "timenow"])
def test_time_formats(key: str, value: object) -> None:
    when = parse_signal(js(action="buy", **{key: value})).alert_time
    assert when == FIRE
    assert when is not None
    assert when.tzinfo is UTC


def test_fractional_epoch_and_ms() -> None:
    base = int(FIRE.timestamp())
    assert parse(action="buy", time=f"{base}.5").alert_time == FIRE.replace(microsecond=500_000)
    assert parse(action="buy", time=base * 1000 + 250).alert_time == FIRE.replace(
        microsecond=250_000
    )


def test_timenow_is_preferred_over_bar_time() -> None:
    intent = parse(action="buy", time="2026-11-27T14:00:00Z", timenow="2026-11-27T14:30:00Z")
    assert intent.alert_time == FIRE
    assert parse(action="buy", time="2026-11-27T14:30:00Z", timenow="").alert_time == FIRE


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-13-45T00:00:00Z", "5", -1, True, [1], "0001-01-01T00:00:00+01:00"]
)
def test_unreadable_time(value: object) -> None:
    message = error(js(action="buy", time=value))
    assert message.startswith("time ")
    assert "time" in message


def test_implausible_times() -> None:
    assert "plausible" in error(js(action="buy", time="1970-01-01T00:00:00Z"))
    assert "plausible" in error(js(action="buy", time=10**14))
    assert "plausible" in error(js(action="buy", time="2150-01-01T00:00:00Z"))


# --------------------------------------------------------------------------- overrides


def test_overrides_with_long_names() -> None:
    overrides = parse(
        action="buy",
        tp_ticks=40,
        sl_ticks="20",
        tp_dollars="100.5",
        sl_dollars=50,
        risk_dollars="300",
        trail=True,
        trail_trigger=30,
        trail_freq="4",
        breakeven="on",
        breakeven_offset=2,
    ).overrides
    assert overrides == AlertOverrides(
        tp_ticks=Decimal(40),
        sl_ticks=Decimal(20),
        tp_dollars=Decimal("100.5"),
        sl_dollars=Decimal(50),
        risk_dollars=Decimal(300),
        trail=True,
        trail_trigger=Decimal(30),
        trail_freq=Decimal(4),
        breakeven=True,
        breakeven_offset=Decimal(2),
    )


def test_tp_sl_short_aliases() -> None:
    overrides = parse(action="sell", tp=80, sl="40").overrides
    assert (overrides.tp_ticks, overrides.sl_ticks) == (Decimal(80), Decimal(40))
    # the long name wins when both are sent
    assert parse(action="sell", tp=80, tp_ticks=10).overrides.tp_ticks == Decimal(10)


def test_no_overrides_means_all_none() -> None:
    assert parse(action="buy").overrides == AlertOverrides()
    assert all(v is None for v in parse(action="buy").overrides.model_dump().values())


def test_zero_is_a_real_override() -> None:
    overrides = parse(action="buy", sl=0, trail_trigger="0").overrides
    assert overrides.sl_ticks == Decimal(0)
    assert overrides.trail_trigger == Decimal(0)
    assert parse(action="buy", sl="-0").overrides.sl_ticks == Decimal(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("FALSE", False),
        (1, True),
        (0, False),
        ("1", True),
        ("0", False),
        ("on", True),
        ("Off", False),
        ("yes", True),
        ("no", False),
    ],
)
@pytest.mark.parametrize("key", ["trail", "breakeven"])
def test_boolean_overrides(key: str, value: object, expected: bool) -> None:
    assert getattr(parse_signal(js(action="buy", **{key: value})).overrides, key) is expected


@pytest.mark.parametrize("value", [20, "maybe", 2.5, [True]])
def test_bad_boolean_override(value: object) -> None:
    message = error(js(action="buy", trail=value))
    assert message.startswith("trail must be true or false")


@pytest.mark.parametrize(
    "key",
    [
        "tp_ticks",
        "tp",
        "sl_ticks",
        "sl",
        "tp_dollars",
        "sl_dollars",
        "risk_dollars",
        "trail_trigger",
        "trail_freq",
        "breakeven_offset",
    ],
)
def test_negative_or_non_numeric_overrides(key: str) -> None:
    message = error(js(action="buy", **{key: -5}))
    assert message == f"{key} -5 must not be negative"
    assert error(js(action="buy", **{key: "ten"})) == f'{key} "ten" is not a number'
    assert "must be a number" in error(js(action="buy", **{key: True}))


def test_comment() -> None:
    assert parse(action="buy", comment="  Long entry ").comment == "Long entry"
    assert parse(action="buy", comment="").comment is None
    assert parse(action="buy", comment=42).comment == "42"
    assert parse(action="buy", comment="x" * 2000).comment == "x" * 500
    assert "comment must be text" in error(js(action="buy", comment={"a": 1}))


# --------------------------------------------------------------------------- placeholders


def test_unreplaced_placeholder_in_a_string_field() -> None:
    body = js(action="{{strategy.order.action}}", ticker="MNQ1!")
    message = error(body)
    assert message.startswith('action is "{{strategy.order.action}}"')
    assert "not replaced" in message


def test_unreplaced_placeholder_in_any_known_field() -> None:
    message = error(js(action="buy", ticker="{{ticker}}"))
    assert message.startswith('ticker is "{{ticker}}"')
    assert "not replaced" in error(js(action="buy", comment="{{strategy.order.comment}}"))


def test_unreplaced_placeholder_that_breaks_the_json() -> None:
    body = b'{"action": "buy", "contracts": {{strategy.order.contracts}}, "ticker": "NQ1!"}'
    message = error(body, "text/plain")
    assert message.startswith('contracts is "{{strategy.order.contracts}}"')
    assert "not replaced" in message


def test_production_template_unfilled() -> None:
    body = (
        b'{"action":"{{strategy.order.action}}","ticker":"{{ticker}}",'
        b'"contracts":{{strategy.order.contracts}},"price":{{strategy.order.price}},'
        b'"position":"{{strategy.market_position}}","time":"{{timenow}}"}'
    )
    assert "not replaced" in error(body)


def test_production_template_filled() -> None:
    body = (
        b'{"action":"sell","ticker":"MNQ1!","contracts":2,"price":21450.25,'
        b'"position":"flat","time":"2026-11-27T14:30:00Z"}'
    )
    intent = parse_signal(body, "application/json; charset=utf-8")
    assert intent.action is Action.CLOSE
    assert (intent.ticker, intent.quantity, intent.price) == ("MNQ1!", 2, Decimal("21450.25"))
    assert intent.alert_time == FIRE


def test_placeholder_in_unknown_key_is_ignored() -> None:
    assert parse(action="buy", interval="{{interval}}").action is Action.BUY


def test_placeholder_in_plain_text() -> None:
    assert "not replaced" in error("{{strategy.order.action}} MNQ1!")


def test_empty_placeholder_substitution_gives_a_json_hint() -> None:
    message = error(b'{"action": "buy", "contracts": , "ticker": "NQ1!"}')
    assert message.startswith("body is not valid JSON")
    assert "line 1 column" in message
    assert "placeholder" in message


# --------------------------------------------------------------------------- plain text


@pytest.mark.parametrize(
    ("body", "action", "ticker", "quantity"),
    [
        ("buy MNQ1!", Action.BUY, "MNQ1!", None),
        ("SELL NQH6 2", Action.SELL, "NQH6", 2),
        ("close", Action.CLOSE, None, None),
        ("Close\n", Action.CLOSE, None, None),
        ("buy 3", Action.BUY, None, 3),
        ("buy 3 MNQ1!", Action.BUY, "MNQ1!", 3),
        ("long CME_MINI:MNQ1!", Action.BUY, "CME_MINI:MNQ1!", None),
        ("buy MNQ1! qty=3", Action.BUY, "MNQ1!", 3),
        ("buy, MNQ1!; qty = 3;", Action.BUY, "MNQ1!", 3),
        ("action=buy ticker=MNQ1! qty=2", Action.BUY, "MNQ1!", 2),
        ("ticker=ES1! short", Action.SELL, "ES1!", None),
    ],
)
def test_plain_text_forms(
    body: str, action: Action, ticker: str | None, quantity: int | None
) -> None:
    intent = parse_signal(body.encode(), "text/plain")
    assert (intent.action, intent.ticker, intent.quantity) == (action, ticker, quantity)


def test_plain_text_close_alias() -> None:
    intent = parse_signal(b"closelong MNQ1!")
    assert (intent.action, intent.close_side, intent.ticker) == (Action.CLOSE, "long", "MNQ1!")


def test_plain_text_key_values() -> None:
    intent = parse_signal(
        b'buy MNQ1! qty=3 tp=40 sl=20 price=21000.5 trail=on comment="two words" foo=bar'
    )
    assert intent.quantity == 3
    assert intent.price == Decimal("21000.5")
    assert intent.overrides.tp_ticks == Decimal(40)
    assert intent.overrides.sl_ticks == Decimal(20)
    assert intent.overrides.trail is True
    assert intent.comment == "two words"


def test_plain_text_at_price() -> None:
    intent = parse_signal(b"long ES1! 2 @ 6000.25")
    assert (intent.action, intent.ticker, intent.quantity) == (Action.BUY, "ES1!", 2)
    assert intent.price == Decimal("6000.25")
    assert parse_signal(b"sell NQH6 @21000").price == Decimal(21000)


def test_plain_text_market_position() -> None:
    intent = parse_signal(b"buy MNQ1! market_position=flat")
    assert intent.action is Action.CLOSE


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("purchase MNQ1!", '"purchase" is not an action'),
        ("buy MNQ1! qty = 2.5", 'qty "2.5"'),
        ("buy MNQ1! ES1!", '"ES1!"'),
        ("buy MNQ1! 2 3", '"3"'),
        ("buy MNQ1! sell", '"sell"'),
        ("buy MNQ1! 2.5", "whole number"),
        ("buy MNQ1! 0", "at least 1"),
        ("buy MNQ1! qty=abc", 'qty "abc" is not a number'),
        ("buy MNQ1! 2 qty=3", "given twice"),
        ("buy MNQ1! qty=2 qty=3", "qty is given twice"),
        ("buy action=sell", "action was already given"),
        ("buy MNQ1! =3", '"=3"'),
        ("buy MNQ1! @", "price is missing"),
        ("buy MNQ1! @1 @ 2", "price was already given"),
        ("buy MNQ1! @1 price=2", "price is given twice"),
        ("buy MNQ1! @ abc", 'price "abc"'),
        ("buy MNQ1! @ 0", "greater than 0"),
        ('buy MNQ1! comment="open', "plain-text alert cannot be read"),
    ],
)
def test_plain_text_errors_name_the_token(body: str, fragment: str) -> None:
    assert fragment in error(body, "text/plain")


def test_json_content_type_with_plain_text_body_is_still_read() -> None:
    assert parse_signal(b"buy MNQ1!", "application/json").action is Action.BUY
    message = error("purchase MNQ1!", "application/json")
    assert "not valid JSON" in message
    assert '"purchase"' in message


def test_json_body_under_text_content_type() -> None:
    assert parse_signal(js(action="buy"), "text/plain").action is Action.BUY
    assert parse_signal(js(action="buy"), None).action is Action.BUY


# --------------------------------------------------------------------------- bad bodies


@pytest.mark.parametrize("body", [b"", b"   ", b"\n\t \r\n", b"\xef\xbb\xbf  "])
def test_empty_body(body: bytes) -> None:
    assert error(body) == "empty body"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"[1, 2]", "a list"),
        (b'[{"action": "buy"}]', "a list"),
        (b"42", "a number"),
        (b'"buy"', "text"),
        (b"null", "null"),
        (b"true", "true/false"),
    ],
)
def test_json_that_is_not_an_object(body: bytes, kind: str) -> None:
    message = error(body)
    assert message.startswith("body must be a JSON object")
    assert kind in message


def test_invalid_utf8() -> None:
    message = error(b'{"action": "buy\xff"}')
    assert "not UTF-8" in message
    assert "0xff" in message


def test_utf8_bom_is_tolerated() -> None:
    assert parse_signal(b"\xef\xbb\xbf" + js(action="buy")).action is Action.BUY


def test_lone_surrogate_in_text_field() -> None:
    assert "not valid text" in error(b'{"action": "buy", "ticker": "NQ\\ud800"}')


def test_invalid_json_object() -> None:
    message = error(b'{"action": "buy", "comment": "say "hi"", "ticker": "NQ1!"}')
    assert message.startswith("body is not valid JSON")
    assert "line 1 column" in message


def test_deeply_nested_json() -> None:
    assert "nested too deeply" in error(b"[" * 30_000 + b"]" * 30_000)
    assert "nested too deeply" in error(b'{"a":' * 10_000 + b"1" + b"}" * 10_000)


def test_nested_garbage_in_known_fields() -> None:
    nested: Any = {"x": [1, {"y": [None, True]}]}
    for key in ("action", "ticker", "qty", "price", "time", "tp", "trail", "comment"):
        fields: dict[str, Any] = {"action": "buy", key: nested}
        message = error(json.dumps(fields).encode())
        assert key in message


def test_unknown_keys_are_ignored() -> None:
    intent = parse(action="buy", strategy="ORB", extras={"a": [1, 2]}, foo=None, bar=[{}])
    assert intent.action is Action.BUY


def test_body_too_large() -> None:
    body = js(action="buy", comment="x" * MAX_BODY_BYTES)
    assert error(body).startswith("body too large")
    padded = json.dumps({"action": "buy", "pad": "x" * (MAX_BODY_BYTES - 40)}).encode()
    assert len(padded) <= MAX_BODY_BYTES
    assert parse_signal(padded).action is Action.BUY


def test_error_messages_stay_short() -> None:
    message = error(js(action="x" * 10_000))
    assert len(message) < 400


def test_signal_error_is_a_value_error() -> None:
    assert issubclass(SignalError, ValueError)


def test_intent_is_frozen_and_has_defaults() -> None:
    intent = SignalIntent(action=Action.CLOSE)
    assert intent.overrides == AlertOverrides()
    with pytest.raises(ValueError):
        intent.ticker = "NQ1!"  # type: ignore[misc]


def test_intent_round_trips_through_json() -> None:
    intent = parse_signal(
        b'{"action": "closelong", "ticker": "NQ1!", "qty": 2, "price": "21450.25", '
        b'"time": "2026-11-27T14:30:00Z", "tp": 4, "trail": "on", "position_size": -1}'
    )
    assert SignalIntent.model_validate(intent.model_dump(mode="json")) == intent
    assert SignalIntent.model_validate_json(intent.model_dump_json()) == intent


# --------------------------------------------------------------------------- properties

KNOWN_KEYS = [
    "action",
    "order_action",
    "side",
    "signal",
    "market_position",
    "position",
    "position_size",
    "prev_position_size",
    "ticker",
    "symbol",
    "instrument",
    "quantity",
    "qty",
    "contracts",
    "size",
    "price",
    "close",
    "time",
    "timenow",
    "tp_ticks",
    "tp",
    "sl_ticks",
    "sl",
    "tp_dollars",
    "sl_dollars",
    "risk_dollars",
    "trail",
    "trail_trigger",
    "trail_freq",
    "breakeven",
    "breakeven_offset",
    "comment",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [w for w, _, _ in ACTION_WORDS]
        + ["flat", "long", "short", "on", "off", "1e400", "NaN", "-0", "{{ticker}}", "sNaN"]
        + ["2026-11-27T14:30:00Z", "1764253800", "1764253800000", "0001-01-01T00:00:00+01:00"]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
key_names = st.sampled_from(KNOWN_KEYS).flatmap(
    lambda k: st.sampled_from([k, k.upper(), k.title(), f" {k} "])
)
objects = st.dictionaries(key_names | st.text(max_size=8), values, max_size=8)


def _must_be_intent_or_signal_error(body: bytes, content_type: str | None = None) -> None:
    try:
        intent = parse_signal(body, content_type)
    except SignalError as exc:
        message = str(exc)
        intent = None
    if intent is None:
        assert message
        assert len(message) < 1000
        return
    assert isinstance(intent, SignalIntent)
    assert intent.quantity is None or intent.quantity >= 1
    assert intent.price is None or intent.price > 0
    assert intent.alert_time is None or intent.alert_time.utcoffset() is not None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.sampled_from([None, "application/json", "text/plain"]))
def test_arbitrary_bytes_never_raise_anything_else(body: bytes, content_type: str | None) -> None:
    _must_be_intent_or_signal_error(body, content_type)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_arbitrary_text_never_raises_anything_else(text: str) -> None:
    _must_be_intent_or_signal_error(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objects)
def test_arbitrary_json_objects_never_raise_anything_else(obj: dict[str, Any]) -> None:
    _must_be_intent_or_signal_error(json.dumps(obj).encode())


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(key_names, scalars, max_size=8).map(
        lambda d: " ".join(["buy", "MNQ1!", *(f"{k.strip()}={v}" for k, v in d.items())])
    )
)
def test_arbitrary_plain_text_key_values_never_raise_anything_else(text: str) -> None:
    _must_be_intent_or_signal_error(text.encode("utf-8", "surrogatepass"))


def test_a_refusal_that_echoes_a_lone_surrogate_can_be_stored_once_made_storable() -> None:
    from justtrades.execution.signal_values import storable

    assert storable("bu\ud800y") == "bu\\ud800y"
    assert storable("plain ü €") == "plain ü €"  # encodable text is left as it is
    with pytest.raises(SignalError) as refused:
        parse_signal(b'{"action":"bu\\ud800y","ticker":"MNQ1!"}')
    message = storable(str(refused.value))
    message.encode("utf-8")  # what the webhook stores and answers
    assert "\\ud800" in message
