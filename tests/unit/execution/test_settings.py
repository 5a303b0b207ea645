"""Settings: the one model, how layers combine, alert overrides, distances and TP leg sizes."""

from __future__ import annotations

import doctest
from datetime import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from justtrades.execution import settings as settings_module
from justtrades.execution.overrides import alert_layer
from justtrades.execution.settings import (
    DEFAULTS,
    SETTING_NAMES,
    EffectiveSettings,
    RiskSettings,
    SettingsConflict,
    TpTarget,
    check_combination,
    effective_settings,
    merge,
)
from justtrades.execution.sizing import distance_ticks, price_distance, tp_leg_quantities
from justtrades.execution.windows import TimeWindow, parse_clock
from justtrades.instruments import spec_for

D = Decimal
NONE = RiskSettings()


def eff(
    strategy: RiskSettings = NONE,
    trader: RiskSettings = NONE,
    alert: RiskSettings = NONE,
    multiplier: str = "1",
) -> EffectiveSettings:
    return effective_settings(strategy, trader, alert, D(multiplier))


def legs(*trims: int | str) -> list[TpTarget]:
    return [TpTarget(ticks=D(10 * (i + 1)), trim=D(t)) for i, t in enumerate(trims)]


# --- the model -----------------------------------------------------------------------------------


def test_every_field_is_optional_and_unset_by_default() -> None:
    assert all(getattr(NONE, name) is None for name in SETTING_NAMES)
    assert NONE.model_dump(mode="json", exclude_none=True) == {}


def test_effective_settings_has_the_same_names_plus_multiplier() -> None:
    assert set(EffectiveSettings.model_fields) == {*SETTING_NAMES, "multiplier"}


def test_defaults_set_every_field_but_opposite_signal() -> None:
    unset = [name for name in SETTING_NAMES if getattr(DEFAULTS, name) is None]
    assert unset == ["opposite_signal"]


def test_defaults_when_nobody_sets_anything() -> None:
    e = eff()
    assert e.model_dump() == {
        "enabled": True,
        "initial_position_size": 1,
        "add_position_size": 1,
        "max_contracts_per_trade": 0,
        "max_contracts": 0,
        "tp_targets": [],
        "tp_units": "ticks",
        "sl_units": "ticks",
        "trim_units": "contracts",
        "sl_enabled": False,
        "sl_amount": D(0),
        "sl_type": "fixed",
        "trail_trigger": D(0),
        "trail_freq": D(1),
        "break_even_enabled": False,
        "break_even_ticks": D(0),
        "break_even_offset": D(0),
        "dca_enabled": False,
        "opposite_signal": "reverse",
        "same_direction_ignore": False,
        "direction_filter": "both",
        "inverse_signals": False,
        "custom_ticker": "",
        "every_nth_signal": 1,
        "signal_cooldown_secs": D(0),
        "max_signals_per_session": 0,
        "max_daily_loss": D(0),
        "time_filters": [],
        "auto_flat_after_cutoff": False,
        "multiplier": D(1),
    }


def test_unknown_setting_name_is_rejected() -> None:
    with pytest.raises(ValidationError, match="avg_down_enabled"):
        RiskSettings.model_validate({"avg_down_enabled": True})
    with pytest.raises(ValidationError):
        RiskSettings.model_validate({"tp_targets": [{"ticks": 20, "trim": 1, "value": 20}]})


def test_settings_are_frozen() -> None:
    s = RiskSettings(max_contracts=3)
    with pytest.raises(ValidationError):
        s.max_contracts = 4  # type: ignore[misc]


def test_numbers_may_arrive_as_strings() -> None:
    s = RiskSettings.model_validate(
        {
            "initial_position_size": "2",
            "max_contracts": "0",
            "sl_amount": "12.5",
            "tp_targets": [{"ticks": "20", "trim": "1"}],
            "every_nth_signal": "3",
            "signal_cooldown_secs": "1.5",
            "max_daily_loss": "500",
            "sl_enabled": "true",
        }
    )
    assert s.initial_position_size == 2
    assert s.max_contracts == 0
    assert s.sl_amount == D("12.5")
    assert s.tp_targets == [TpTarget(ticks=D(20), trim=D(1))]
    assert s.every_nth_signal == 3
    assert s.signal_cooldown_secs == D("1.5")
    assert s.max_daily_loss == D(500)
    assert s.sl_enabled is True


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"initial_position_size": "-1"}, "initial_position_size"),
        ({"initial_position_size": "1.5"}, "initial_position_size"),
        ({"max_contracts": "lots"}, "max_contracts"),
        ({"sl_amount": "-5"}, "sl_amount"),
        ({"sl_amount": "NaN"}, "sl_amount"),
        ({"sl_amount": "1e400"}, "sl_amount"),
        ({"every_nth_signal": 0}, "every_nth_signal"),
        ({"tp_units": "pips"}, "tp_units"),
        ({"trim_units": "ticks"}, "trim_units"),
        ({"sl_type": "trailing_stop"}, "sl_type"),
        ({"opposite_signal": "flip"}, "opposite_signal"),
        ({"direction_filter": "up"}, "direction_filter"),
        ({"sl_enabled": "maybe"}, "sl_enabled"),
        ({"tp_targets": [{"ticks": 20, "trim": 0}]}, "tp_targets.0.trim"),
        ({"tp_targets": [{"ticks": 20, "trim": 101}]}, "tp_targets.0.trim"),
        ({"tp_targets": [{"ticks": -1, "trim": 1}]}, "tp_targets.0.ticks"),
        ({"tp_targets": [{"ticks": 1, "trim": 1}] * 11}, "tp_targets"),
        ({"custom_ticker": "FOO1!"}, "custom_ticker"),
        ({"custom_ticker": "X" * 33}, "custom_ticker"),
        ({"time_filters": [{"start": "9:00", "stop": "10:00"}] * 3}, "time_filters"),
    ],
)
def test_bad_values_name_the_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        RiskSettings.model_validate(values)
    assert ".".join(str(p) for p in info.value.errors()[0]["loc"]) == field


def test_choices_are_normalised() -> None:
    s = RiskSettings.model_validate(
        {
            "tp_units": "Ticks",
            "sl_units": " POINTS ",
            "trim_units": "Contracts",
            "sl_type": "Trail",
            "direction_filter": "Long Only",
            "opposite_signal": "Reverse",
            "custom_ticker": " cme_mini:es1! ",
        }
    )
    assert (s.tp_units, s.sl_units, s.trim_units) == ("ticks", "points", "contracts")
    assert (s.sl_type, s.direction_filter, s.opposite_signal) == (
        "trailing",
        "long_only",
        "reverse",
    )
    assert s.custom_ticker == "CME_MINI:ES1!"


def test_json_round_trip_for_the_database() -> None:
    s = RiskSettings.model_validate(
        {
            "max_contracts": 0,
            "sl_enabled": False,
            "tp_targets": [{"ticks": "20.5", "trim": 1}],
            "time_filters": [{"start": "8:45 AM", "stop": "3:00 PM"}],
            "custom_ticker": "",
        }
    )
    stored = s.model_dump(mode="json", exclude_none=True)
    assert stored == {
        "max_contracts": 0,
        "sl_enabled": False,
        "tp_targets": [{"ticks": "20.5", "trim": "1"}],
        "time_filters": [{"start": "08:45", "stop": "15:00", "enabled": True}],
        "custom_ticker": "",
    }
    assert RiskSettings.model_validate(stored) == s


def test_openapi_schema_carries_descriptions() -> None:
    props = RiskSettings.model_json_schema()["properties"]
    assert set(props) == set(SETTING_NAMES)
    assert all(props[name].get("description") for name in SETTING_NAMES)


# --- merging -------------------------------------------------------------------------------------


def test_zero_overrides_and_none_inherits() -> None:
    strategy = RiskSettings(max_contracts=5, initial_position_size=3)
    assert eff(strategy, RiskSettings(max_contracts=0)).max_contracts == 0
    assert eff(strategy, RiskSettings(max_contracts=None)).max_contracts == 5
    assert eff(strategy, NONE).initial_position_size == 3


def test_false_empty_list_and_empty_string_win() -> None:
    strategy = RiskSettings(
        sl_enabled=True,
        tp_targets=legs(1),
        custom_ticker="ES1!",
        time_filters=[TimeWindow(start="9:00", stop="10:00")],
    )
    trader = RiskSettings(sl_enabled=False, tp_targets=[], custom_ticker="", time_filters=[])
    e = eff(strategy, trader)
    assert (e.sl_enabled, e.tp_targets, e.custom_ticker, e.time_filters) == (False, [], "", [])


def test_later_layer_wins_and_alert_is_last() -> None:
    e = eff(
        RiskSettings(sl_amount=D(10), trail_freq=D(2)),
        RiskSettings(sl_amount=D(20)),
        RiskSettings(sl_amount=D(30)),
    )
    assert (e.sl_amount, e.trail_freq) == (D(30), D(2))


def test_merge_of_nothing_is_unset() -> None:
    assert merge() == NONE
    assert merge(NONE, NONE) == NONE


# One valid sample set per setting; the test below fails when a field has none.
SAMPLES: dict[str, list[Any]] = {
    "enabled": [True, False],
    "initial_position_size": [0, 1, 7],
    "add_position_size": [0, 2],
    "max_contracts_per_trade": [0, 4],
    "max_contracts": [0, 5],
    "tp_targets": [[], legs(1), legs(1, 1, 1), legs(50, 50)],
    "tp_units": ["ticks", "points", "dollars", "percent"],
    "sl_units": ["ticks", "points", "dollars", "percent"],
    "trim_units": ["contracts", "percent"],
    "sl_enabled": [True, False],
    "sl_amount": [D(0), D(12), D("2.5")],
    "sl_type": ["fixed", "trailing"],
    "trail_trigger": [D(0), D(8)],
    "trail_freq": [D(0), D(4)],
    "break_even_enabled": [True, False],
    "break_even_ticks": [D(0), D(10)],
    "break_even_offset": [D(0), D(2)],
    "dca_enabled": [True, False],
    "opposite_signal": ["reverse", "close", "ignore"],
    "same_direction_ignore": [True, False],
    "direction_filter": ["both", "long_only", "short_only"],
    "inverse_signals": [True, False],
    "custom_ticker": ["", "ES1!", "MNQH6"],
    "every_nth_signal": [1, 3],
    "signal_cooldown_secs": [D(0), D(30)],
    "max_signals_per_session": [0, 5],
    "max_daily_loss": [D(0), D(500)],
    "time_filters": [[], [TimeWindow(start="22:00", stop="02:00")]],
    "auto_flat_after_cutoff": [True, False],
}


def test_samples_cover_every_setting() -> None:
    assert set(SAMPLES) == set(SETTING_NAMES)


def _layer() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {name: st.one_of(st.none(), st.sampled_from(values)) for name, values in SAMPLES.items()}
    )


@settings(max_examples=150, deadline=None)
@given(layers=st.lists(_layer(), min_size=3, max_size=3), multiplier=st.sampled_from(["1", "2.5"]))
def test_every_setting_reaches_the_account(layers: list[dict[str, Any]], multiplier: str) -> None:
    strategy, trader, alert = (RiskSettings.model_validate(layer) for layer in layers)

    def last_set(name: str) -> Any:
        found = [layer[name] for layer in layers if layer[name] is not None]
        return found[-1] if found else None

    dca = last_set("dca_enabled")
    if dca is True and last_set("same_direction_ignore") is True:
        with pytest.raises(SettingsConflict):
            eff(strategy, trader, alert, multiplier)
        return
    e = eff(strategy, trader, alert, multiplier)
    for name in SETTING_NAMES:
        expected = last_set(name)
        if expected is None:
            expected = getattr(DEFAULTS, name)
        if expected is None:  # opposite_signal: depends on DCA
            expected = "ignore" if dca is True else "reverse"
        assert getattr(e, name) == expected, name
    assert e.multiplier == D(multiplier)


def test_opposite_signal_default_follows_dca() -> None:
    assert eff().opposite_signal == "reverse"
    assert eff(RiskSettings(dca_enabled=True)).opposite_signal == "ignore"
    assert eff(RiskSettings(dca_enabled=True), RiskSettings(dca_enabled=False)).opposite_signal == (
        "reverse"
    )


def test_opposite_signal_set_explicitly_wins_over_the_dca_rule() -> None:
    with_dca = RiskSettings(dca_enabled=True, opposite_signal="reverse")
    assert eff(with_dca).opposite_signal == "reverse"
    assert eff(RiskSettings(opposite_signal="ignore")).opposite_signal == "ignore"
    assert eff(
        RiskSettings(dca_enabled=True), RiskSettings(opposite_signal="close")
    ).opposite_signal == ("close")


def test_same_direction_ignore_with_dca_is_refused() -> None:
    both = RiskSettings(dca_enabled=True, same_direction_ignore=True)
    with pytest.raises(SettingsConflict, match="same_direction_ignore"):
        check_combination(both)
    with pytest.raises(SettingsConflict):
        eff(both)
    # across layers: the merged result is checked
    with pytest.raises(SettingsConflict):
        eff(RiskSettings(dca_enabled=True), RiskSettings(same_direction_ignore=True))
    # a later layer can resolve it
    e = eff(both, RiskSettings(dca_enabled=False))
    assert e.same_direction_ignore is True
    assert e.dca_enabled is False
    check_combination(RiskSettings(dca_enabled=True))
    check_combination(RiskSettings(same_direction_ignore=True, dca_enabled=False))
    assert issubclass(SettingsConflict, ValueError)


@pytest.mark.parametrize("multiplier", ["0", "-1", "NaN"])
def test_multiplier_must_be_positive(multiplier: str) -> None:
    with pytest.raises(ValueError, match="multiplier"):
        eff(multiplier=multiplier)


# --- alert overrides -----------------------------------------------------------------------------


def test_alert_tp_and_sl_in_ticks() -> None:
    layer = alert_layer({"tp_ticks": 20, "sl_ticks": "12"})
    assert layer.tp_targets == [TpTarget(ticks=D(20), trim=D(100))]
    assert (layer.tp_units, layer.trim_units) == ("ticks", "percent")
    assert (layer.sl_enabled, layer.sl_amount, layer.sl_units) == (True, D(12), "ticks")
    assert alert_layer({"tp": "20", "sl": 12}) == layer


def test_alert_tp_and_sl_in_dollars() -> None:
    layer = alert_layer({"tp_dollars": "100", "sl_dollars": 50.5})
    assert layer.tp_targets == [TpTarget(ticks=D(100), trim=D(100))]
    assert (layer.tp_units, layer.trim_units) == ("dollars", "percent")
    assert (layer.sl_enabled, layer.sl_amount, layer.sl_units) == (True, D("50.5"), "dollars")


def test_alert_trail_and_break_even() -> None:
    layer = alert_layer(
        {
            "trail": "true",
            "trail_trigger": "8",
            "trail_freq": 2,
            "breakeven": True,
            "breakeven_offset": "1",
        }
    )
    assert layer.sl_type == "trailing"
    assert (layer.trail_trigger, layer.trail_freq) == (D(8), D(2))
    assert (layer.break_even_enabled, layer.break_even_offset) == (True, D(1))
    assert alert_layer({"trail": False, "breakeven": "0"}).model_dump(exclude_none=True) == {
        "sl_type": "fixed",
        "break_even_enabled": False,
    }


def test_alert_without_overrides_sets_nothing() -> None:
    body = {"action": "buy", "ticker": "MNQ1!", "risk_dollars": 100, "tp_ticks": None, "sl": ""}
    assert alert_layer(body) == NONE
    assert alert_layer({}) == NONE


def test_alert_zero_means_none_rather_than_inherit() -> None:
    strategy = RiskSettings(tp_targets=legs(1, 1), sl_enabled=True, sl_amount=D(20))
    layer = alert_layer({"tp_ticks": 0, "sl_ticks": "0"})
    assert layer.tp_targets == []
    assert (layer.sl_enabled, layer.sl_amount) == (False, D(0))
    e = eff(strategy, NONE, layer)
    assert (e.tp_targets, e.sl_enabled) == ([], False)


def test_alert_overrides_one_trader_and_leaves_the_rest() -> None:
    strategy = RiskSettings(tp_targets=legs(1, 1), trim_units="contracts", sl_amount=D(40))
    trader = RiskSettings(sl_enabled=True, break_even_enabled=True)
    e = eff(strategy, trader, alert_layer({"tp": 30}))
    assert e.tp_targets == [TpTarget(ticks=D(30), trim=D(100))]
    assert e.trim_units == "percent"
    assert (e.sl_enabled, e.sl_amount, e.break_even_enabled) == (True, D(40), True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tp_ticks": "abc"}, "tp_ticks"),
        ({"sl": -5}, "sl"),
        ({"trail": "sometimes"}, "trail"),
        ({"breakeven_offset": "x"}, "breakeven_offset"),
        ({"tp_ticks": 10, "tp_dollars": 50}, "not both"),
        ({"sl": 10, "sl_dollars": 50}, "not both"),
    ],
)
def test_alert_bad_values(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        alert_layer(fields)


# --- time windows --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "clock"),
    [
        ("8:45 AM", "08:45"),
        ("8:45am", "08:45"),
        ("3:00 PM", "15:00"),
        ("12:00 AM", "00:00"),
        ("12:30 PM", "12:30"),
        ("11:59 p.m.", "23:59"),
        ("9 AM", "09:00"),
        ("13:45", "13:45"),
        ("08:45", "08:45"),
        ("0:00", "00:00"),
        ("23:59:00", "23:59"),
    ],
)
def test_clock_notation(text: str, clock: str) -> None:
    assert parse_clock(text) == clock


@pytest.mark.parametrize(
    "text", ["", "noon", "24:00", "13:45 PM", "0:30 AM", "8:60", "8.45", "845", "13:45:30"]
)
def test_bad_clock(text: str) -> None:
    with pytest.raises(ValueError):
        parse_clock(text)


def test_window_crossing_midnight() -> None:
    w = TimeWindow.model_validate({"start": "6:00 PM", "stop": "2:00 AM"})
    assert (w.start, w.stop, w.enabled, w.crosses_midnight) == ("18:00", "02:00", True, True)
    assert w.contains(time(23, 30))
    assert w.contains(time(1, 59))
    assert w.contains(time(18, 0))
    assert not w.contains(time(2, 0))
    assert not w.contains(time(12, 0))


def test_window_in_one_day() -> None:
    w = TimeWindow(start="8:45 AM", stop="3:00 PM", enabled=False)
    assert not w.crosses_midnight
    assert w.contains(time(8, 45))
    assert w.contains(time(14, 59, 59))
    assert not w.contains(time(15, 0))
    assert not w.contains(time(8, 44))


@pytest.mark.parametrize(
    "window",
    [
        {"start": "9:00", "stop": "9:00 AM"},
        {"start": "25:00", "stop": "10:00"},
        {"start": 900, "stop": "10:00"},
        {"start": "9:00"},
        {"start": "9:00", "stop": "10:00", "days": "mon"},
    ],
)
def test_bad_window(window: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RiskSettings.model_validate({"time_filters": [window]})


# --- distances -----------------------------------------------------------------------------------

MNQ, ES, ZN, E6 = (spec_for(root) for root in ("MNQ", "ES", "ZN", "6E"))


@pytest.mark.parametrize(
    ("amount", "units", "entry", "distance"),
    [
        ("20", "ticks", None, "5.00"),
        ("1", "ticks", None, "0.25"),
        ("2.5", "ticks", None, "0.75"),  # 2.5 ticks rounds half up to 3
        ("5", "points", None, "5.00"),
        ("5.1", "points", None, "5.00"),
        ("5.125", "points", None, "5.25"),
        ("10", "dollars", None, "5.00"),  # $10 / $0.50 a tick = 20 ticks
        ("0.10", "dollars", None, "0.25"),  # under one tick: at least one tick
        ("0.1", "percent", "20000", "20.00"),
        ("0.5", "percent", "21003.75", "105.00"),  # 105.01875 -> 420 ticks
        ("0", "ticks", None, "0"),
        ("0", "dollars", None, "0"),
        ("0", "percent", None, "0"),  # no distance needs no entry price
    ],
)
def test_mnq_distances(amount: str, units: str, entry: str | None, distance: str) -> None:
    got = price_distance(D(amount), units, MNQ, None if entry is None else D(entry))
    assert got == D(distance)


def test_es_dollars() -> None:
    assert price_distance(D(100), "dollars", ES, None) == D("2.00")  # 8 ticks of $12.50
    assert price_distance(D(30), "dollars", ES, None) == D("0.50")  # 2.4 ticks -> 2
    assert price_distance(D("31.25"), "dollars", ES, None) == D("0.75")  # 2.5 ticks -> 3
    assert distance_ticks(D(100), "dollars", ES, None) == 8


def test_zn_and_6e_round_to_tick() -> None:
    assert price_distance(D("0.5"), "points", ZN, None) == D("0.5")  # 32 ticks of 1/64
    assert price_distance(D("0.1"), "points", ZN, None) == D("0.09375")  # 6.4 -> 6 ticks
    assert price_distance(D(20), "dollars", ZN, None) == D("0.015625")  # 1.28 -> 1 tick
    assert price_distance(D("0.0012"), "points", E6, None) == D("0.0012")  # 24 ticks
    assert price_distance(D("0.00012"), "points", E6, None) == D("0.00010")  # 2.4 -> 2
    assert price_distance(D(100), "dollars", E6, None) == D("0.0008")  # 16 ticks of $6.25
    for amount, units, spec in [
        (D("0.1"), "points", ZN),
        (D("0.00017"), "points", E6),
        (D("0.3"), "percent", E6),
    ]:
        got = price_distance(amount, units, spec, D("1.08355"))
        assert (got / spec.tick_size) == (got / spec.tick_size).to_integral_value()


@pytest.mark.parametrize(
    ("amount", "units", "entry"),
    [
        ("1", "percent", None),
        ("1", "percent", "0"),
        ("1", "pips", None),
        ("-1", "ticks", None),
        ("NaN", "ticks", None),
    ],
)
def test_bad_distance(amount: str, units: str, entry: str | None) -> None:
    with pytest.raises(ValueError):
        price_distance(D(amount), units, MNQ, None if entry is None else D(entry))


# --- take-profit legs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "trims", "units", "multiplier", "sizes"),
    [
        (3, [1, 1, 1], "contracts", "1", [1, 1, 1]),
        (15, [1, 1, 1], "contracts", "5", [5, 5, 5]),  # the incident: never 1, 1, 13
        (30, [1, 1, 1], "contracts", "10", [10, 10, 10]),
        (5, [1, 1, 1], "contracts", "2.5", [3, 2]),  # round(2.5) = 3, then what remains
        (10, [1, 1], "contracts", "1", [1, 9]),  # the last leg takes what remains
        (2, [1, 1, 1], "contracts", "1", [1, 1]),  # third leg would get 0: dropped
        (1, [2, 1], "contracts", "1", [1]),
        (4, [100], "contracts", "1", [4]),
        (2, [50, 50], "percent", "1", [1, 1]),
        (3, [50, 50], "percent", "1", [2, 1]),
        (1, [50, 50], "percent", "1", [1]),
        (10, [25, 25, 25, 25], "percent", "1", [3, 3, 3, 1]),
        (10, [10, 10], "percent", "3", [1, 9]),  # percent ignores the multiplier
        (7, [100], "percent", "1", [7]),
        (0, [1, 1], "contracts", "1", []),
        (5, [], "contracts", "1", []),
    ],
)
def test_tp_leg_quantities(
    total: int, trims: list[int], units: str, multiplier: str, sizes: list[int]
) -> None:
    assert tp_leg_quantities(total, legs(*trims), units, D(multiplier)) == sizes


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(0, 200),
    trims=st.lists(st.integers(1, 100), min_size=1, max_size=10),
    units=st.sampled_from(["contracts", "percent"]),
    multiplier=st.sampled_from(["1", "2.5", "3", "20", "30"]),
)
def test_tp_legs_cover_the_position_exactly(
    total: int, trims: list[int], units: str, multiplier: str
) -> None:
    sizes = tp_leg_quantities(total, legs(*trims), units, D(multiplier))
    assert sum(sizes) == total
    assert all(size >= 1 for size in sizes)
    assert len(sizes) <= len(trims)


@pytest.mark.parametrize(
    ("total", "units", "multiplier"),
    [(-1, "contracts", "1"), (1, "ticks", "1"), (1, "percent", "0")],
)
def test_tp_legs_bad_input(total: int, units: str, multiplier: str) -> None:
    with pytest.raises(ValueError):
        tp_leg_quantities(total, legs(1), units, D(multiplier))


def test_docstring_examples_hold() -> None:
    from justtrades.execution import overrides, sizing

    results = [
        doctest.testmod(m, raise_on_error=False) for m in (settings_module, sizing, overrides)
    ]
    assert sum(r.attempted for r in results) > 0
    assert sum(r.failed for r in results) == 0
