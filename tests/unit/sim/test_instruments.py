"""The instrument table: symbol resolution, front months and rolls, tick sizes and tick maths."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from justtrades.instruments import (
    INSTRUMENTS,
    MONTH_CODES,
    UnknownInstrument,
    front_month,
    is_on_tick,
    listed_contracts,
    price_to_ticks,
    resolve,
    round_to_tick,
    spec_for,
    ticks_to_price,
)

D = Decimal
TODAY = date(2026, 11, 27)  # the FakeClock's start date, a Friday


# --- continuous and dated symbols ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "name"),
    [
        ("NQ1!", "NQZ6"),
        ("CME_MINI:MNQ1!", "MNQZ6"),
        ("MNQ", "MNQZ6"),
        ("mnq1!", "MNQZ6"),
        ("  ES1!  ", "ESZ6"),
        ("CME_MINI:ES1!", "ESZ6"),
        ("MES", "MESZ6"),
        ("YM1!", "YMZ6"),
        ("M2K1!", "M2KZ6"),
        ("6E1!", "6EZ6"),
        ("NYMEX:CL1!", "CLF7"),
        ("COMEX:GC1!", "GCG7"),
        ("SI1!", "SIH7"),
        ("ZN1!", "ZNH7"),  # ZNZ6 rolls 25 days before 2026-12-22, i.e. on 2026-11-27 itself
    ],
)
def test_continuous_symbols_resolve_to_the_front_month(symbol: str, name: str) -> None:
    assert resolve(symbol, TODAY).name == name


@pytest.mark.parametrize("symbol", ["NQH6", "NQH26", "NQH2026", "CME_MINI:NQH26", "nqh2026"])
def test_dated_symbols_with_one_two_or_four_year_digits(symbol: str) -> None:
    c = resolve(symbol, TODAY)
    assert (c.root, c.month_code, c.year, c.month) == ("NQ", "H", 2026, 3)
    assert c.name == "NQH6"


def test_one_digit_year_is_the_nearest_year_not_more_than_a_year_back() -> None:
    assert resolve("NQH7", TODAY).year == 2027
    assert resolve("NQZ5", TODAY).year == 2025
    assert resolve("NQZ4", TODAY).year == 2034
    assert resolve("NQH27", TODAY) == resolve("NQH2027", TODAY) == resolve("NQH7", TODAY)


@pytest.mark.parametrize(
    ("symbol", "root", "code"),
    [
        ("SILH7", "SIL", "H"),
        ("SIH7", "SI", "H"),
        ("MGCJ7", "MGC", "J"),
        ("GCJ7", "GC", "J"),
        ("MESH7", "MES", "H"),
        ("ESH7", "ES", "H"),
        ("MCLF7", "MCL", "F"),
        ("CLF7", "CL", "F"),
        ("MNQM7", "MNQ", "M"),
        ("NQM7", "NQ", "M"),
        ("MYMU7", "MYM", "U"),
        ("YMU7", "YM", "U"),
    ],
)
def test_longest_root_is_tried_first(symbol: str, root: str, code: str) -> None:
    c = resolve(symbol, TODAY)
    assert (c.root, c.month_code) == (root, code)


@pytest.mark.parametrize("root", sorted(INSTRUMENTS))
def test_month_codes_are_never_part_of_the_root(root: str) -> None:
    spec = INSTRUMENTS[root]
    for code in spec.months:
        for year in ("7", "27", "2027"):
            c = resolve(f"{root}{code}{year}", TODAY)
            assert (c.root, c.month_code, c.year) == (root, code, 2027)
    assert resolve(f"{root}1!", TODAY).root == root
    assert resolve(root, TODAY).root == root


@pytest.mark.parametrize(
    "symbol",
    [
        "",
        "   ",
        "CME:",
        "FOO1!",
        "XYZH7",
        "AAPL",
        "EURUSD",
        "BTC1!",
        "N",
        "NQ1",  # a continuous suffix needs the '!'
        "NQ3!",
        "NQZ",  # no year
        "NQZZ7",
        "NQH123",  # three-digit year
        "NQH20266",
        "NQH6!",  # dated and continuous at once
        "QN1!",
    ],
)
def test_unknown_symbols_raise_and_never_default(symbol: str) -> None:
    with pytest.raises(UnknownInstrument):
        resolve(symbol, TODAY)


@pytest.mark.parametrize(
    "symbol", ["NQF7", "ESK7", "MNQV7", "GCH7", "MGCK7", "SIF7", "SILM7", "ZNF7", "6EJ7"]
)
def test_month_the_product_does_not_list_raises(symbol: str) -> None:
    with pytest.raises(UnknownInstrument, match="does not list month"):
        resolve(symbol, TODAY)


def test_unknown_instrument_is_a_value_error() -> None:
    assert issubclass(UnknownInstrument, ValueError)
    with pytest.raises(UnknownInstrument):
        spec_for("ZZ")
    assert spec_for("mnq").root == "MNQ"


# --- front month and roll ------------------------------------------------------------------------


def test_mnq_front_month_and_its_roll_to_h7() -> None:
    z6 = resolve("MNQZ6", TODAY)
    assert z6.last_trade_date == date(2026, 12, 18)  # third Friday of December 2026
    assert z6.roll_date == date(2026, 12, 10)  # 8 calendar days before
    assert resolve("MNQ1!", TODAY).name == "MNQZ6"
    assert resolve("MNQ1!", date(2026, 12, 9)).name == "MNQZ6"  # the day before the roll
    assert resolve("MNQ1!", date(2026, 12, 10)).name == "MNQH7"  # roll day
    assert resolve("MNQ1!", date(2026, 12, 18)).name == "MNQH7"
    spec = spec_for("MNQ")
    assert [c.name for c in listed_contracts(spec, TODAY, 3)] == ["MNQZ6", "MNQH7", "MNQM7"]
    assert [c.name for c in listed_contracts(spec, date(2026, 12, 10), 3)] == [
        "MNQH7",
        "MNQM7",
        "MNQU7",
    ]


def test_third_friday_for_other_quarters() -> None:
    assert resolve("ESH7", TODAY).last_trade_date == date(2027, 3, 19)
    assert resolve("ESM7", TODAY).last_trade_date == date(2027, 6, 18)
    assert resolve("ESH7", TODAY).roll_date == date(2027, 3, 11)
    assert resolve("ES1!", date(2027, 3, 10)).name == "ESH7"
    assert resolve("ES1!", date(2027, 3, 11)).name == "ESM7"


def test_crude_is_monthly() -> None:
    spec = spec_for("CL")
    assert spec.months == MONTH_CODES
    assert [c.name for c in listed_contracts(spec, TODAY, 4)] == [
        "CLF7",
        "CLG7",
        "CLH7",
        "CLJ7",
    ]
    f7 = resolve("CLF7", TODAY)
    # three business days before the 25th of the month before (25 Dec 2026 is a Friday)
    assert f7.last_trade_date == date(2026, 12, 22)
    assert f7.roll_date == date(2026, 12, 17)
    assert resolve("CL1!", date(2026, 12, 16)).name == "CLF7"
    assert resolve("CL1!", date(2026, 12, 17)).name == "CLG7"
    # every month code is tradable
    for code in MONTH_CODES:
        assert resolve(f"CL{code}7", TODAY).month_code == code


def test_front_month_is_the_first_listed_contract() -> None:
    for spec in INSTRUMENTS.values():
        assert front_month(spec, TODAY) == listed_contracts(spec, TODAY, 1)[0]
        assert front_month(spec, TODAY).roll_date > TODAY


# --- tick sizes and values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "tick", "value"),
    [
        ("ES", D("0.25"), D("12.50")),
        ("MES", D("0.25"), D("1.25")),
        ("NQ", D("0.25"), D("5")),
        ("MNQ", D("0.25"), D("0.50")),
        ("YM", D("1"), D("5")),
        ("MYM", D("1"), D("0.50")),
        ("RTY", D("0.1"), D("5")),
        ("M2K", D("0.1"), D("0.50")),
        ("CL", D("0.01"), D("10")),
        ("MCL", D("0.01"), D("1")),
        ("GC", D("0.10"), D("10")),
        ("MGC", D("0.10"), D("1")),
        ("SI", D("0.005"), D("25")),
        ("HG", D("0.0005"), D("12.50")),
        ("NG", D("0.001"), D("10")),
        ("ZB", D(1) / D(32), D("31.25")),
        ("ZN", D(1) / D(64), D("15.625")),
        ("6E", D("0.00005"), D("6.25")),
    ],
)
def test_tick_size_and_value(root: str, tick: Decimal, value: Decimal) -> None:
    spec = spec_for(root)
    assert spec.tick_size == tick
    assert spec.tick_value == value
    assert spec.point_value == value / tick


@pytest.mark.parametrize(
    ("root", "point_value"),
    [
        ("ES", 50),
        ("MES", 5),
        ("NQ", 20),
        ("MNQ", 2),
        ("CL", 1000),
        ("GC", 100),
        ("ZB", 1000),
        ("ZN", 1000),
        ("6E", 125000),
    ],
)
def test_point_values(root: str, point_value: int) -> None:
    assert spec_for(root).point_value == point_value


# --- tick arithmetic -----------------------------------------------------------------------------

ZN_TICK = D("0.015625")
E6_TICK = D("0.00005")


@pytest.mark.parametrize(
    ("price", "tick", "rounded"),
    [
        (D("21000.13"), D("0.25"), D("21000.25")),
        (D("21000.12"), D("0.25"), D("21000")),
        (D("21000.125"), D("0.25"), D("21000.25")),  # half a tick rounds up
        (D("-0.125"), D("0.25"), D("-0.25")),  # ... away from zero
        (D("21000.25"), D("0.25"), D("21000.25")),
        (D("44000.5"), D("1"), D("44001")),
        (D("2400.04"), D("0.1"), D("2400")),
        (D("70.005"), D("0.01"), D("70.01")),
        (D("110.01"), ZN_TICK, D("110.015625")),
        (D("110.5"), ZN_TICK, D("110.5")),
        (D("110.0078125"), ZN_TICK, D("110.015625")),  # exactly half a ZN tick
        (D("118.05"), D("0.03125"), D("118.0625")),
        (D("1.08502"), E6_TICK, D("1.085")),
        (D("1.085025"), E6_TICK, D("1.08505")),
        (D("1.08508"), E6_TICK, D("1.0851")),
        (D("4.20026"), D("0.0005"), D("4.2005")),
    ],
)
def test_round_to_tick(price: Decimal, tick: Decimal, rounded: Decimal) -> None:
    assert round_to_tick(price, tick) == rounded
    assert is_on_tick(round_to_tick(price, tick), tick)


@pytest.mark.parametrize(
    ("price", "tick", "ticks"),
    [
        (D("21000"), D("0.25"), 84000),
        (D("21000.25"), D("0.25"), 84001),
        (D("21000.1"), D("0.25"), 84000),
        (D("110"), ZN_TICK, 7040),
        (D("110.015625"), ZN_TICK, 7041),
        (D("110.5"), ZN_TICK, 7072),
        (D("1.05"), E6_TICK, 21000),
        (D("1.05005"), E6_TICK, 21001),
        (D("70.01"), D("0.01"), 7001),
    ],
)
def test_price_to_ticks_and_back(price: Decimal, tick: Decimal, ticks: int) -> None:
    assert price_to_ticks(price, tick) == ticks
    assert ticks_to_price(ticks, tick) == round_to_tick(price, tick)


@pytest.mark.parametrize(
    ("price", "tick", "on"),
    [
        (D("21000.25"), D("0.25"), True),
        (D("21000.5"), D("0.25"), True),
        (D("21000.1"), D("0.25"), False),
        (D("21000.3"), D("0.25"), False),
        (D("44000"), D("1"), True),
        (D("44000.5"), D("1"), False),
        (D("110.015625"), ZN_TICK, True),
        (D("110.03125"), ZN_TICK, True),
        (D("110.01"), ZN_TICK, False),
        (D("110.0078125"), ZN_TICK, False),
        (D("1.08505"), E6_TICK, True),
        (D("1.0851"), E6_TICK, True),
        (D("1.08501"), E6_TICK, False),
        (D("70.01"), D("0.01"), True),
        (D("70.015"), D("0.01"), False),
        (D("31.005"), D("0.005"), True),
        (D("31.001"), D("0.005"), False),
    ],
)
def test_is_on_tick(price: Decimal, tick: Decimal, on: bool) -> None:
    assert is_on_tick(price, tick) is on


def test_ticks_to_price_is_exact() -> None:
    assert ticks_to_price(0, ZN_TICK) == 0
    assert ticks_to_price(7041, ZN_TICK) == D("110.015625")
    assert ticks_to_price(21701, E6_TICK) == D("1.08505")
    assert ticks_to_price(-3, D("0.25")) == D("-0.75")


def test_second_continuous_contract_is_the_next_listed_one() -> None:
    today = date(2026, 11, 27)
    assert resolve("NQ2!", today).name == "NQH7"
    assert resolve("CME_MINI:MNQ2!", today).name == "MNQH7"
    assert resolve("CL2!", today).name == "CLG7"
