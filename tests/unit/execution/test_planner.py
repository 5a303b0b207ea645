"""The planner: SPEC §6's rows, quantities, exits, decided against the broker's position."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from justtrades.brokers.base import Position, Side
from justtrades.execution.planner import Enter, Flatten, plan
from justtrades.execution.settings import RiskSettings, TpTarget, effective_settings
from justtrades.execution.signal import parse_signal
from justtrades.instruments import resolve

D = Decimal
MNQ = resolve("MNQ1!", date(2026, 11, 27))
FLAT = Position("1", "MNQZ6", 0, None)
LONG2 = Position("1", "MNQZ6", 2, D("21000"))
SHORT1 = Position("1", "MNQZ6", -1, D("21000"))
DEMO = RiskSettings(
    tp_targets=[TpTarget(ticks=D(40), trim=D(100))],
    trim_units="percent",
    sl_enabled=True,
    sl_amount=D(20),
)


def eff(strategy: RiskSettings = DEMO, trader: RiskSettings | None = None, multiplier: str = "1"):
    return effective_settings(strategy, trader or RiskSettings(), RiskSettings(), D(multiplier))


def intent(body: str):
    return parse_signal(body.encode())


def test_entry_from_flat_is_one_bracket_with_tp_and_sl() -> None:
    p = plan(intent('{"action":"buy","ticker":"MNQ1!"}'), eff(multiplier="2"), FLAT, MNQ)
    [step] = p.steps
    assert isinstance(step, Enter)
    assert (step.side, step.qty) == (Side.BUY, 2)
    [leg] = step.legs
    assert (leg.qty, leg.take_profit, leg.stop_loss) == (2, D(10), D(5))  # 40 and 20 ticks


def test_opposite_signal_reverses_close_then_enter() -> None:
    p = plan(intent("sell MNQ1!"), eff(), LONG2, MNQ)
    assert [type(s) for s in p.steps] == [Flatten, Enter]
    enter = p.steps[1]
    assert isinstance(enter, Enter) and enter.side is Side.SELL and enter.qty == 1


@pytest.mark.parametrize(("mode", "kinds"), [("close", [Flatten]), ("ignore", [])])
def test_opposite_signal_close_only_or_ignore(mode: str, kinds: list[type]) -> None:
    settings = eff(trader=RiskSettings(opposite_signal=mode))  # type: ignore[arg-type]
    p = plan(intent("sell MNQ1!"), settings, LONG2, MNQ)
    assert [type(s) for s in p.steps] == kinds


def test_close_flattens_and_close_while_flat_does_nothing() -> None:
    p = plan(intent("close"), eff(), SHORT1, MNQ)
    assert [type(s) for s in p.steps] == [Flatten]
    p = plan(intent('{"action":"close"}'), eff(), FLAT, MNQ)
    assert p.steps == () and "nothing" in p.note


def test_close_long_while_short_does_nothing() -> None:
    p = plan(intent("closelong MNQ1!"), eff(), SHORT1, MNQ)
    assert p.steps == ()


def test_same_side_with_dca_off_closes_then_fresh_bracket_at_initial_size() -> None:
    p = plan(intent("buy MNQ1!"), eff(multiplier="3"), LONG2, MNQ)
    assert [type(s) for s in p.steps] == [Flatten, Enter]
    enter = p.steps[1]
    assert isinstance(enter, Enter) and enter.qty == 3  # initial x multiplier, never stacked


def test_same_side_ignored_and_dca_add_not_sent() -> None:
    p = plan(intent("buy"), eff(trader=RiskSettings(same_direction_ignore=True)), LONG2, MNQ)
    assert p.steps == ()
    p = plan(intent("buy"), eff(trader=RiskSettings(dca_enabled=True)), LONG2, MNQ)
    assert p.steps == () and "DCA" in p.note


def test_alert_quantity_multiplier_and_caps() -> None:
    p = plan(intent("buy MNQ1! 3"), eff(multiplier="2.5"), FLAT, MNQ)
    assert isinstance(p.steps[0], Enter) and p.steps[0].qty == 8  # 7.5 rounds half up
    capped = eff(trader=RiskSettings(max_contracts=5), multiplier="2.5")
    p = plan(intent("buy MNQ1! 3"), capped, FLAT, MNQ)
    assert isinstance(p.steps[0], Enter) and p.steps[0].qty == 5
    assert any("capped" in w for w in p.warnings)


def test_zero_is_a_value_not_a_default() -> None:
    # the trader's max_contracts 0 (no cap) wins over the strategy's 1
    settings = eff(RiskSettings(max_contracts=1), RiskSettings(max_contracts=0), "4")
    p = plan(intent("buy"), settings, FLAT, MNQ)
    assert isinstance(p.steps[0], Enter) and p.steps[0].qty == 4


def test_multi_leg_targets_each_with_the_stop() -> None:
    settings = eff(
        RiskSettings(
            tp_targets=[
                TpTarget(ticks=D(20), trim=D(1)),
                TpTarget(ticks=D(40), trim=D(1)),
                TpTarget(ticks=D(80), trim=D(1)),
            ],
            trim_units="contracts",
            sl_enabled=True,
            sl_amount=D(30),
            initial_position_size=3,
        ),
        multiplier="5",
    )
    p = plan(intent("sell"), settings, FLAT, MNQ)
    enter = p.steps[0]
    assert isinstance(enter, Enter) and enter.qty == 15
    assert [(g.qty, g.take_profit, g.stop_loss) for g in enter.legs] == [
        (5, D(5), D("7.5")),
        (5, D(10), D("7.5")),
        (5, D(20), D("7.5")),
    ]


def test_no_exits_is_a_plain_market_entry() -> None:
    p = plan(intent("buy"), eff(RiskSettings()), FLAT, MNQ)
    enter = p.steps[0]
    assert isinstance(enter, Enter) and enter.legs == ()


def test_trailing_stop_with_trigger_is_an_auto_trail_leg() -> None:
    settings = eff(
        RiskSettings(
            sl_enabled=True,
            sl_amount=D(20),
            sl_type="trailing",
            trail_trigger=D(8),
            trail_freq=D(2),
        )
    )
    [step] = plan(intent("buy"), settings, FLAT, MNQ).steps
    assert isinstance(step, Enter)
    [leg] = step.legs
    assert (leg.stop_loss, leg.trail_trigger, leg.trail_step, leg.trailing) == (
        D(5),
        D(2),
        D("0.5"),
        False,
    )


def test_inverse_swaps_entries_but_a_close_stays_a_close() -> None:
    inverse = eff(trader=RiskSettings(inverse_signals=True))
    step = plan(intent("buy"), inverse, FLAT, MNQ).steps[0]
    assert isinstance(step, Enter) and step.side is Side.SELL
    assert [type(s) for s in plan(intent("close"), inverse, LONG2, MNQ).steps] == [Flatten]


def test_direction_filter_blocks_entries_not_exits() -> None:
    long_only = eff(trader=RiskSettings(direction_filter="long_only"))
    assert plan(intent("sell"), long_only, FLAT, MNQ).steps == ()
    assert [type(s) for s in plan(intent("sell"), long_only, LONG2, MNQ).steps] == [Flatten]


def test_risk_dollars_sizes_against_the_stop() -> None:
    # SL 20 ticks on MNQ = $10 per contract; $35 of risk -> 3 contracts
    p = plan(intent('{"action":"buy","risk_dollars":35}'), eff(), FLAT, MNQ)
    assert isinstance(p.steps[0], Enter) and p.steps[0].qty == 3


def test_the_plan_explains_itself() -> None:
    text = plan(intent("sell"), eff(), LONG2, MNQ).describe()
    assert "MNQZ6" in text and "flatten" in text and "sell 1 at market" in text


def test_a_reversal_sizes_from_the_target_position_not_the_order() -> None:
    # TradingView: long 2 -> short 2 sends an order of 4 contracts; the target is -2.
    body = '{"action":"sell","contracts":4,"position_size":-2}'
    p = plan(intent(body), eff(), LONG2, MNQ)
    enter = p.steps[1]
    assert isinstance(enter, Enter) and (enter.side, enter.qty) == (Side.SELL, 2)


def test_a_target_side_already_held_is_never_a_close_and_reentry() -> None:
    # a scale-out: the strategy sells part of its long, and stays long
    body = '{"action":"sell","market_position":"long","position_size":1}'
    p = plan(intent(body), eff(), LONG2, MNQ)
    assert p.steps == () and "already long" in p.note


def test_inverse_also_swaps_which_side_a_close_closes() -> None:
    inverse = eff(trader=RiskSettings(inverse_signals=True))
    # the strategy's long is this account's short: exit_long must close it
    assert [type(s) for s in plan(intent("exit_long"), inverse, SHORT1, MNQ).steps] == [Flatten]
    assert plan(intent("exit_long"), inverse, LONG2, MNQ).steps == ()


def test_direction_filter_blocks_the_fresh_entry_of_a_same_side_signal() -> None:
    long_only = eff(trader=RiskSettings(direction_filter="long_only"))
    p = plan(intent("sell"), long_only, SHORT1, MNQ)
    assert [type(s) for s in p.steps] == [Flatten]
