"""The exchange core: brackets, OCO, multibracket strategies, trailing stops, liquidation,
positions and P&L, gap fills, rejections, modifications and the session roll."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from justtrades.clock import FakeClock
from justtrades.sim.entities import Order
from justtrades.sim.exchange import Exchange, OrderSpec, Rejected, StrategyRejected

D = Decimal
MNQ = "MNQZ6"


def buy(kind: str = "Market", **kw: object) -> OrderSpec:
    return OrderSpec("Buy", kind, **kw)  # type: ignore[arg-type]


def sell(kind: str = "Market", **kw: object) -> OrderSpec:
    return OrderSpec("Sell", kind, **kw)  # type: ignore[arg-type]


def fills(ex: Exchange, order: Order) -> list:
    return [f for f in ex.tables["fill"].values() if f.orderId == order.id]


def fill_price(ex: Exchange, order: Order) -> Decimal:
    (f,) = fills(ex, order)
    return f.price


def strategy_orders(ex: Exchange, strategy_id: int) -> dict[str, Order]:
    links = [
        link
        for link in ex.tables["orderStrategyLink"].values()
        if link.orderStrategyId == strategy_id
    ]
    return {link.label: ex.tables["order"][link.orderId] for link in links}


def params(brackets: list[dict], **entry: object) -> str:
    entry_version = {"orderType": "Market", **entry}
    return json.dumps({"entryVersion": entry_version, "brackets": brackets})


# --- brackets (placeOSO) -------------------------------------------------------------------------


def test_bracket_children_suspended_until_the_entry_fills(ex: Exchange, acct: int, mnq) -> None:
    entry, tp, sl = ex.place_oso(
        acct,
        MNQ,
        2,
        buy("Limit", price=D(20990)),
        sell("Limit", price=D(21020)),
        sell("Stop", stop_price=D(20970)),
    )
    assert sl is not None
    assert entry.ordStatus == "Working"
    assert (tp.ordStatus, sl.ordStatus) == ("Suspended", "Suspended")
    assert tp.parentId == sl.parentId == entry.id
    assert (tp.linkedId, sl.linkedId) == (sl.id, tp.id)
    # a price that would execute the take-profit does nothing while it is suspended
    ex.set_price(MNQ, D(21030))
    assert (entry.ordStatus, tp.ordStatus, sl.ordStatus) == ("Working", "Suspended", "Suspended")
    assert ex.tables["fill"] == {}
    ex.set_price(MNQ, D(20990))
    assert entry.ordStatus == "Filled"
    assert (tp.ordStatus, sl.ordStatus) == ("Working", "Working")
    assert ex.position(acct, mnq.id).netPos == 2


def test_bracket_take_profit_fills_and_cancels_the_stop(ex: Exchange, acct: int, mnq) -> None:
    entry, tp, sl = ex.place_oso(
        acct, MNQ, 1, buy(), sell("Limit", price=D(21020)), sell("Stop", stop_price=D(20970))
    )
    assert sl is not None
    assert entry.ordStatus == "Filled"
    assert (tp.ordStatus, sl.ordStatus) == ("Working", "Working")
    ex.set_price(MNQ, D(21020))
    assert (tp.ordStatus, sl.ordStatus) == ("Filled", "Canceled")
    assert fill_price(ex, tp) == D(21020)
    assert fills(ex, sl) == []
    assert ex.position(acct, mnq.id).netPos == 0
    assert ex.cash(acct).realizedPnL == D(40)  # 20 points x $2
    ex.set_price(MNQ, D(20900))  # the cancelled stop stays cancelled
    assert sl.ordStatus == "Canceled"
    assert ex.position(acct, mnq.id).netPos == 0


def test_bracket_stop_fills_and_cancels_the_take_profit(ex: Exchange, acct: int, mnq) -> None:
    entry, tp, sl = ex.place_oso(
        acct, MNQ, 1, sell(), buy("Limit", price=D(20980)), buy("Stop", stop_price=D(21010))
    )
    assert sl is not None
    ex.set_price(MNQ, D(21010))
    assert (entry.ordStatus, tp.ordStatus, sl.ordStatus) == ("Filled", "Canceled", "Filled")
    assert fill_price(ex, sl) == D(21010)
    assert ex.position(acct, mnq.id).netPos == 0
    assert ex.cash(acct).realizedPnL == D(-20)
    ex.set_price(MNQ, D(20980))
    assert tp.ordStatus == "Canceled"


def test_bracket_with_one_child(ex: Exchange, acct: int, mnq) -> None:
    _, tp, other = ex.place_oso(acct, MNQ, 1, buy(), sell("Limit", price=D(21010)), None)
    assert other is None
    assert tp.ordStatus == "Working"
    assert tp.linkedId is None
    ex.set_price(MNQ, D(21010))
    assert tp.ordStatus == "Filled"


def test_cancelling_an_unfilled_entry_cancels_its_children(ex: Exchange, acct: int) -> None:
    entry, tp, sl = ex.place_oso(
        acct,
        MNQ,
        1,
        buy("Limit", price=D(20990)),
        sell("Limit", price=D(21020)),
        sell("Stop", stop_price=D(20970)),
    )
    assert sl is not None
    cmd = ex.cancel_order(entry.id)
    assert (cmd.commandType, cmd.orderId) == ("Cancel", entry.id)
    assert (entry.ordStatus, tp.ordStatus, sl.ordStatus) == ("Canceled", "Canceled", "Canceled")
    ex.set_price(MNQ, D(20990))
    ex.set_price(MNQ, D(21020))
    assert ex.tables["fill"] == {}


def test_bracket_children_activated_by_a_gap_execute_at_once(ex: Exchange, acct: int, mnq) -> None:
    entry, tp, sl = ex.place_oso(
        acct,
        MNQ,
        1,
        buy("Limit", price=D(20990)),
        sell("Limit", price=D(21020)),
        sell("Stop", stop_price=D(20985)),
    )
    assert sl is not None
    ex.set_price(MNQ, D(20980))  # gaps through the entry and the stop
    assert fill_price(ex, entry) == D(20990)  # a resting limit fills at its price
    assert fill_price(ex, sl) == D(20980)  # the stop fills at the gap price
    assert tp.ordStatus == "Canceled"
    assert ex.position(acct, mnq.id).netPos == 0


def test_trailing_stop_child_trails_from_the_entry_fill(ex: Exchange, acct: int, mnq) -> None:
    entry, _, sl = ex.place_oso(
        acct,
        MNQ,
        1,
        buy("Limit", price=D(20990)),
        sell("Limit", price=D(21050)),
        sell("TrailingStop", stop_price=D(20900), peg_difference=D(10)),
    )
    assert sl is not None
    ex.set_price(MNQ, D(20990))
    assert entry.ordStatus == "Filled"
    assert sl.ordStatus == "Working"
    assert ex.version(sl).stopPrice == D(20980)
    assert ex.position(acct, mnq.id).netPos == 1


# --- OCO -----------------------------------------------------------------------------------------


def test_oco_one_fills_the_other_is_cancelled(ex: Exchange, acct: int, mnq, market) -> None:
    market(acct, MNQ, 1)
    tp, sl = ex.place_oco(
        acct, MNQ, 1, sell("Limit", price=D(21010)), sell("Stop", stop_price=D(20990))
    )
    assert (tp.ordStatus, sl.ordStatus) == ("Working", "Working")
    assert (tp.linkedId, sl.linkedId) == (sl.id, tp.id)
    ex.set_price(MNQ, D(20990))
    assert (tp.ordStatus, sl.ordStatus) == ("Canceled", "Filled")
    assert ex.position(acct, mnq.id).netPos == 0
    ex.set_price(MNQ, D(21010))
    assert tp.ordStatus == "Canceled"
    assert ex.position(acct, mnq.id).netPos == 0


def test_oco_limit_side(ex: Exchange, acct: int, mnq) -> None:
    a, b = ex.place_oco(
        acct, MNQ, 3, buy("Limit", price=D(20950)), buy("Stop", stop_price=D(21050))
    )
    ex.set_price(MNQ, D(20950))
    assert (a.ordStatus, b.ordStatus) == ("Filled", "Canceled")
    assert ex.position(acct, mnq.id).netPos == 3


def test_rejected_oco_leaves_no_order_behind(ex: Exchange, acct: int) -> None:
    with pytest.raises(Rejected):
        ex.place_oco(
            acct,
            MNQ,
            1,
            sell("Limit", price=D(21010), cl_ord_id="dup"),
            sell("Stop", stop_price=D(20990), cl_ord_id="dup"),
        )
    assert [o for o in ex.tables["order"].values() if o.is_working] == []


def test_rejected_oso_leaves_no_naked_entry_behind(ex: Exchange, acct: int, mnq) -> None:
    with pytest.raises(Rejected):
        ex.place_oso(
            acct,
            MNQ,
            1,
            buy(cl_ord_id="dup"),
            sell("Limit", price=D(21010), cl_ord_id="dup"),
            sell("Stop", stop_price=D(20990)),
        )
    ex.set_price(MNQ, D(21000))
    assert [o for o in ex.tables["order"].values() if o.is_working] == []
    assert ex.position(acct, mnq.id).netPos == 0


# --- multibracket strategies ---------------------------------------------------------------------


def test_multibracket_legs_from_the_fill_price(ex: Exchange, acct: int, mnq) -> None:
    p = params(
        [
            {"qty": 1, "profitTarget": 10, "stopLoss": -5},
            {"qty": 2, "profitTarget": 20.5, "stopLoss": -7.25},
        ],
        orderQty=3,
    )
    strategy = ex.start_order_strategy(acct, "MNQ1!", "Buy", p, uuid="u-1")
    assert strategy.status == "ActiveStrategy"
    orders = strategy_orders(ex, strategy.id)
    assert set(orders) == {"Entry", "TP1", "SL1", "TP2", "SL2"}
    assert orders["Entry"].ordStatus == "Filled"
    assert fill_price(ex, orders["Entry"]) == D(21000)
    expect = {"TP1": ("Limit", 1, D(21010)), "TP2": ("Limit", 2, D("21020.5"))}
    for label, (kind, qty, price) in expect.items():
        v = ex.version(orders[label])
        assert (v.orderType, v.orderQty, v.price, orders[label].action) == (
            kind,
            qty,
            price,
            "Sell",
        )
    for label, (qty, stop) in {"SL1": (1, D(20995)), "SL2": (2, D("20992.75"))}.items():
        v = ex.version(orders[label])
        assert (v.orderType, v.orderQty, v.stopPrice) == ("Stop", qty, stop)
    assert orders["TP1"].linkedId == orders["SL1"].id
    assert orders["SL1"].linkedId == orders["TP1"].id
    assert orders["TP2"].linkedId == orders["SL2"].id
    assert ex.position(acct, mnq.id).netPos == 3

    ex.set_price(MNQ, D(21010))  # TP1 fills, SL1 cancelled; leg 2 untouched
    assert (orders["TP1"].ordStatus, orders["SL1"].ordStatus) == ("Filled", "Canceled")
    assert (orders["TP2"].ordStatus, orders["SL2"].ordStatus) == ("Working", "Working")
    assert strategy.status == "ActiveStrategy"
    assert ex.position(acct, mnq.id).netPos == 2

    ex.set_price(MNQ, D("20992.75"))  # SL2 fills, TP2 cancelled
    assert (orders["TP2"].ordStatus, orders["SL2"].ordStatus) == ("Canceled", "Filled")
    assert strategy.status == "ExecutionFinished"
    assert ex.position(acct, mnq.id).netPos == 0
    # 10 x 1 x $2 + (-7.25) x 2 x $2
    assert ex.cash(acct).realizedPnL == D(20) - D(29)


def test_multibracket_short_with_limit_entry(ex: Exchange, acct: int, mnq) -> None:
    p = params(
        [
            {"qty": 1, "profitTarget": -10, "stopLoss": 5},
            {"qty": 1, "profitTarget": -20, "stopLoss": 5},
        ],
        orderType="Limit",
        price=21004,
    )
    strategy = ex.start_order_strategy(acct, MNQ, "Sell", p)
    orders = strategy_orders(ex, strategy.id)
    assert set(orders) == {"Entry"}  # the legs start only when the entry fills
    assert orders["Entry"].ordStatus == "Working"
    ex.set_price(MNQ, D(21008))  # gaps through: a resting limit fills at its price
    orders = strategy_orders(ex, strategy.id)
    assert fill_price(ex, orders["Entry"]) == D(21004)
    assert ex.version(orders["TP1"]).price == D(20994)
    assert ex.version(orders["TP2"]).price == D(20984)
    assert ex.version(orders["SL1"]).stopPrice == D(21009)
    assert orders["SL1"].action == "Buy"
    ex.set_price(MNQ, D(20990))
    assert strategy.status == "ActiveStrategy"
    ex.set_price(MNQ, D(20984))
    assert strategy.status == "ExecutionFinished"
    assert ex.cash(acct).realizedPnL == (D(10) + D(20)) * 2


def test_cancelling_a_strategy_entry_stops_it(ex: Exchange, acct: int) -> None:
    p = params([{"qty": 1, "profitTarget": 10, "stopLoss": -10}], orderType="Limit", price=20900)
    strategy = ex.start_order_strategy(acct, MNQ, "Buy", p)
    entry = strategy_orders(ex, strategy.id)["Entry"]
    ex.cancel_order(entry.id)
    assert strategy.status == "StoppedByUser"
    ex.set_price(MNQ, D(20900))
    assert set(strategy_orders(ex, strategy.id)) == {"Entry"}


@pytest.mark.parametrize(
    ("action", "brackets", "entry"),
    [
        ("Buy", [{"qty": 1, "profitTarget": -10, "stopLoss": -5}], {}),
        ("Buy", [{"qty": 1, "profitTarget": 10, "stopLoss": 5}], {}),
        ("Buy", [{"qty": 1, "profitTarget": 0, "stopLoss": -5}], {}),
        ("Sell", [{"qty": 1, "profitTarget": 10, "stopLoss": 5}], {}),
        ("Sell", [{"qty": 1, "profitTarget": -10, "stopLoss": -5}], {}),
        ("Buy", [{"qty": 1, "profitTarget": 10}, {"qty": 1, "profitTarget": 20}], {"orderQty": 3}),
        ("Buy", [{"qty": 2, "profitTarget": 10}], {"orderQty": 1}),
        ("Buy", [{"qty": 1, "profitTarget": 10.1, "stopLoss": -5}], {}),
        ("Buy", [{"qty": 1, "profitTarget": 10, "stopLoss": -5.3}], {}),
        ("Buy", [{"qty": 0, "profitTarget": 10}], {}),
        ("Buy", [{"qty": 1.5, "profitTarget": 10}], {}),
        ("Buy", [], {}),
        ("Buy", [{"qty": 1, "profitTarget": 10}], {"orderType": "Limit"}),
        ("Buy", [{"qty": 1, "profitTarget": 10}], {"orderType": "Limit", "price": 20990.1}),
        ("Buy", [{"qty": 1, "profitTarget": 10}], {"orderType": "TrailingStop"}),
        ("Buy", [{"qty": 1, "stopLoss": -10, "autoTrail": {"stopLoss": 3.1}}], {}),
        ("Buy", [{"qty": 1, "autoTrail": {"stopLoss": 3}}], {}),
        ("Hold", [{"qty": 1, "profitTarget": 10}], {}),
    ],
)
def test_invalid_strategy_params_are_rejected(
    ex: Exchange, acct: int, action: str, brackets: list[dict], entry: dict
) -> None:
    with pytest.raises(StrategyRejected):
        ex.start_order_strategy(acct, MNQ, action, params(brackets, **entry))
    assert ex.tables["order"] == {}
    assert ex.tables["orderStrategy"] == {}


@pytest.mark.parametrize("raw", ["not json", "[]", "{}", '{"entryVersion": {}}'])
def test_malformed_strategy_params_are_rejected(ex: Exchange, acct: int, raw: str) -> None:
    with pytest.raises(StrategyRejected, match="Invalid or missed parameters"):
        ex.start_order_strategy(acct, MNQ, "Buy", raw)


# --- autoTrail -----------------------------------------------------------------------------------


def test_auto_trail_waits_for_the_trigger_and_moves_in_freq_steps(
    ex: Exchange, acct: int, mnq
) -> None:
    p = params(
        [
            {
                "qty": 1,
                "profitTarget": 100,
                "stopLoss": -20,
                "autoTrail": {"stopLoss": 10, "trigger": 15, "freq": 5},
            }
        ]
    )
    strategy = ex.start_order_strategy(acct, MNQ, "Buy", p)
    sl = strategy_orders(ex, strategy.id)["SL1"]

    def stop() -> Decimal:
        return ex.version(sl).stopPrice

    assert stop() == D(20980)
    ex.set_price(MNQ, D(21010))  # 10 points of profit: below the trigger
    assert stop() == D(20980)
    ex.set_price(MNQ, D("21014.75"))
    assert stop() == D(20980)
    ex.set_price(MNQ, D(21015))  # trigger reached: trail 10 behind
    assert stop() == D(21005)
    ex.set_price(MNQ, D(21019))  # would move 4 points: less than freq
    assert stop() == D(21005)
    ex.set_price(MNQ, D("21019.75"))
    assert stop() == D(21005)
    ex.set_price(MNQ, D(21020))  # 5 points: moves
    assert stop() == D(21010)
    ex.set_price(MNQ, D(21013))  # never moves back
    assert stop() == D(21010)
    assert sl.ordStatus == "Working"
    ex.set_price(MNQ, D(21009))
    assert sl.ordStatus == "Filled"
    assert fill_price(ex, sl) == D(21009)
    assert ex.position(acct, mnq.id).netPos == 0
    assert strategy.status == "ExecutionFinished"


def test_auto_trail_on_a_short(ex: Exchange, acct: int) -> None:
    p = params(
        [{"qty": 1, "stopLoss": 20, "autoTrail": {"stopLoss": 10, "trigger": 15, "freq": 5}}]
    )
    strategy = ex.start_order_strategy(acct, MNQ, "Sell", p)
    sl = strategy_orders(ex, strategy.id)["SL1"]
    assert ex.version(sl).stopPrice == D(21020)
    ex.set_price(MNQ, D(20990))
    assert ex.version(sl).stopPrice == D(21020)
    ex.set_price(MNQ, D(20985))
    assert ex.version(sl).stopPrice == D(20995)
    ex.set_price(MNQ, D(20982))
    assert ex.version(sl).stopPrice == D(20995)
    ex.set_price(MNQ, D(20980))
    assert ex.version(sl).stopPrice == D(20990)


# --- trailing stops ------------------------------------------------------------------------------


def test_trailing_stop_follows_the_price_up_and_never_back(
    ex: Exchange, acct: int, mnq, market
) -> None:
    market(acct, MNQ, 1)
    ts = ex.place_order(
        acct, MNQ, 1, sell("TrailingStop", stop_price=D(20990), peg_difference=D(10))
    )
    v = ex.version(ts)
    assert (v.stopPrice, v.pegDifference) == (D(20990), D(10))
    ex.set_price(MNQ, D("21000.25"))
    assert ex.version(ts).stopPrice == D("20990.25")
    ex.set_price(MNQ, D(21020))
    assert ex.version(ts).stopPrice == D(21010)
    ex.set_price(MNQ, D(21015))
    assert ex.version(ts).stopPrice == D(21010)
    ex.set_price(MNQ, D(21011))
    assert ex.version(ts).stopPrice == D(21010)
    assert ts.ordStatus == "Working"
    ex.set_price(MNQ, D(21010))
    assert ts.ordStatus == "Filled"
    assert fill_price(ex, ts) == D(21010)
    assert ex.cash(acct).realizedPnL == D(20)


def test_buy_trailing_stop_follows_the_price_down(ex: Exchange, acct: int) -> None:
    ts = ex.place_order(acct, MNQ, 1, buy("TrailingStop", stop_price=D(21005)))
    assert ex.version(ts).pegDifference == D(5)
    ex.set_price(MNQ, D(20990))
    assert ex.version(ts).stopPrice == D(20995)
    ex.set_price(MNQ, D(20994))
    assert ex.version(ts).stopPrice == D(20995)
    ex.set_price(MNQ, D(20997))
    assert fill_price(ex, ts) == D(20997)


# --- liquidation ---------------------------------------------------------------------------------


def test_liquidate_cancels_that_contract_on_that_account_only(
    ex: Exchange, acct: int, acct2: int, mnq, market
) -> None:
    es = ex.contract("ES1!")
    market(acct, MNQ, 3)
    market(acct2, MNQ, 2)
    market(acct, es.name, 1)
    mine = ex.place_order(acct, MNQ, 1, buy("Limit", price=D(20900)))
    _, tp, sl = ex.place_oso(
        acct,
        MNQ,
        1,
        buy("Limit", price=D(20800)),
        sell("Limit", price=D(20900)),
        sell("Stop", stop_price=D(20700)),
    )
    mine_es = ex.place_order(acct, es.name, 1, buy("Limit", price=D(5900)))
    theirs = ex.place_order(acct2, MNQ, 1, sell("Limit", price=D(21100)))
    ex.set_price(MNQ, D(21004))

    order = ex.liquidate_position(acct, mnq.id)
    assert order is not None
    assert (order.action, ex.version(order).orderQty, ex.version(order).orderType) == (
        "Sell",
        3,
        "Market",
    )
    assert order.ordStatus == "Filled"
    assert fill_price(ex, order) == D(21004)
    assert mine.ordStatus == "Canceled"
    assert (tp.ordStatus, sl.ordStatus) == ("Canceled", "Canceled")
    assert ex.position(acct, mnq.id).netPos == 0
    assert ex.cash(acct).realizedPnL == D(4) * 3 * 2
    # other contract and other account untouched
    assert mine_es.ordStatus == "Working"
    assert ex.position(acct, es.id).netPos == 1
    assert theirs.ordStatus == "Working"
    assert ex.position(acct2, mnq.id).netPos == 2
    assert ex.cash(acct2).realizedPnL == 0
    # flat: nothing to do
    assert ex.liquidate_position(acct, mnq.id) is None


def test_liquidate_a_short(ex: Exchange, acct: int, mnq, market) -> None:
    market(acct, MNQ, -2)
    order = ex.liquidate_position(acct, mnq.id)
    assert order is not None
    assert order.action == "Buy"
    assert ex.position(acct, mnq.id).netPos == 0


def test_liquidate_unknown_contract_or_account(ex: Exchange, acct: int, mnq) -> None:
    with pytest.raises(Rejected, match="Access is denied"):
        ex.liquidate_position(acct, 999_999)
    with pytest.raises(Rejected, match="Access is denied"):
        ex.liquidate_position(999_999, mnq.id)


# --- positions and P&L ---------------------------------------------------------------------------


def test_average_price_across_adds_and_fifo_remainder(ex: Exchange, acct: int, mnq, market) -> None:
    market(acct, MNQ, 2)  # 2 @ 21000
    ex.set_price(MNQ, D(21010))
    market(acct, MNQ, 1)  # 1 @ 21010
    ex.set_price(MNQ, D(21020))
    market(acct, MNQ, 1)  # 1 @ 21020
    pos = ex.position(acct, mnq.id)
    assert pos.netPos == 4
    assert pos.netPrice == D(21007.5)  # (2*21000 + 21010 + 21020) / 4
    assert (pos.bought, pos.boughtValue) == (4, D(84030))

    ex.set_price(MNQ, D(21030))
    market(acct, MNQ, -3)  # closes 2 @ 21000 and 1 @ 21010, FIFO
    assert pos.netPos == 1
    assert pos.netPrice == D(21020)
    assert (pos.sold, pos.soldValue) == (3, D(63090))
    assert ex.cash(acct).realizedPnL == (D(30) * 2 + D(20)) * 2

    snap = ex.cash_snapshot(acct)
    assert snap["openPnL"] == 20.0  # (21030 - 21020) x 1 x $2
    assert snap["realizedPnL"] == 160.0
    assert snap["totalPnL"] == 180.0
    assert snap["totalCashValue"] == 50_160.0
    assert snap["netLiq"] == 50_180.0


def test_average_price_partial_close_of_the_first_lot(ex: Exchange, acct: int, mnq, market) -> None:
    market(acct, MNQ, -2)  # 2 @ 21000
    ex.set_price(MNQ, D(21009))
    market(acct, MNQ, -1)  # 1 @ 21009
    pos = ex.position(acct, mnq.id)
    assert pos.netPos == -3
    assert pos.netPrice == D(21003)
    market(acct, MNQ, 1)  # covers one of the 21000 lot
    assert pos.netPos == -2
    assert pos.netPrice == D("21004.5")
    assert ex.cash(acct).realizedPnL == D(-18)
    ex.set_price(MNQ, D(21000))
    # (21000 - 21004.5) x -2 x $2
    assert ex.cash_snapshot(acct)["openPnL"] == 18.0


def test_position_flip(ex: Exchange, acct: int, mnq, market) -> None:
    market(acct, MNQ, -1)
    ex.set_price(MNQ, D(20990))
    market(acct, MNQ, 3)
    pos = ex.position(acct, mnq.id)
    assert (pos.netPos, pos.netPrice) == (2, D(20990))
    assert ex.cash(acct).realizedPnL == D(20)
    pairs = list(ex.tables["fillPair"].values())
    assert [(p.qty, p.buyPrice, p.sellPrice) for p in pairs] == [(1, D(20990), D(21000))]


@pytest.mark.parametrize(
    ("symbol", "qty", "open_price", "close_price", "dollars"),
    [
        ("MNQ1!", 2, "21000", "21010", "40"),
        ("NQ1!", 1, "21000", "20990", "-200"),
        ("NQ1!", -1, "21000", "20990", "200"),
        ("ES1!", 1, "6000", "6001.25", "62.5"),
        ("ES1!", -3, "6000", "6002", "-300"),
        ("MES1!", 1, "6000", "6010", "50"),
        ("CL1!", 1, "70", "70.25", "250"),
        ("CL1!", -2, "70", "69.99", "20"),
        ("MCL1!", 1, "70", "70.5", "50"),
        ("GC1!", 1, "2650", "2651.5", "150"),
        ("MGC1!", 2, "2650", "2649.9", "-2"),
        ("ZN1!", 1, "110", "110.5", "500"),
        ("ZN1!", 1, "110", "110.015625", "15.625"),
        ("ZB1!", 1, "118", "118.03125", "31.25"),
        ("6E1!", 1, "1.05", "1.05005", "6.25"),
        ("YM1!", 1, "44000", "44010", "50"),
        ("RTY1!", 1, "2400", "2400.1", "5"),
    ],
)
def test_realized_pnl_in_dollars(
    ex: Exchange,
    acct: int,
    market,
    symbol: str,
    qty: int,
    open_price: str,
    close_price: str,
    dollars: str,
) -> None:
    contract = ex.contract(symbol)
    ex.set_price(contract.name, D(open_price))
    market(acct, contract.name, qty)
    ex.set_price(contract.name, D(close_price))
    snap = ex.cash_snapshot(acct)
    assert D(str(snap["openPnL"])) == D(dollars)
    assert snap["realizedPnL"] == 0.0
    market(acct, contract.name, -qty)
    bal = ex.cash(acct)
    assert bal.realizedPnL == D(dollars)
    assert bal.weekRealizedPnL == D(dollars)
    assert bal.amount == D(50_000) + D(dollars)
    snap = ex.cash_snapshot(acct)
    assert snap["openPnL"] == 0.0
    assert D(str(snap["realizedPnL"])) == D(dollars)
    (pair,) = ex.tables["fillPair"].values()
    assert pair.qty == abs(qty)


def test_open_pnl_sums_positions_of_the_account(ex: Exchange, acct: int, acct2: int, market):
    market(acct, MNQ, 2)
    market(acct, "ES1!", -1)
    market(acct2, MNQ, 5)
    ex.set_price(MNQ, D(21010))
    ex.set_price("ESZ6", D(5990))
    snap = ex.cash_snapshot(acct)
    assert snap["openPnL"] == 10 * 2 * 2 + 10 * 50
    assert snap["netLiq"] == 50_000 + 540
    assert ex.cash_snapshot(acct2)["openPnL"] == 10 * 5 * 2


# --- matching: gaps, limits, stops ---------------------------------------------------------------


def test_sell_stop_gapped_through_fills_at_the_gap_price(ex: Exchange, acct: int) -> None:
    stop = ex.place_order(acct, MNQ, 1, sell("Stop", stop_price=D(20990)))
    ex.set_price(MNQ, D(20995))
    assert stop.ordStatus == "Working"
    new_fills = ex.set_price(MNQ, D(20980))
    assert [(f.orderId, f.price) for f in new_fills] == [(stop.id, D(20980))]


def test_buy_stop_triggers_on_touch(ex: Exchange, acct: int) -> None:
    stop = ex.place_order(acct, MNQ, 1, buy("Stop", stop_price=D(21010)))
    ex.set_price(MNQ, D("21009.75"))
    assert stop.ordStatus == "Working"
    ex.set_price(MNQ, D(21010))
    assert fill_price(ex, stop) == D(21010)


def test_resting_limit_gapped_through_fills_at_its_price(ex: Exchange, acct: int) -> None:
    lim = ex.place_order(acct, MNQ, 1, buy("Limit", price=D(20990)))
    sl = ex.place_order(acct, MNQ, 1, sell("Limit", price=D(21010)))
    assert (lim.ordStatus, sl.ordStatus) == ("Working", "Working")
    ex.set_price(MNQ, D(20980))
    assert fill_price(ex, lim) == D(20990)
    ex.set_price(MNQ, D(21030))
    assert fill_price(ex, sl) == D(21010)


def test_marketable_new_limit_fills_at_the_market(ex: Exchange, acct: int) -> None:
    b = ex.place_order(acct, MNQ, 1, buy("Limit", price=D(21010)))
    assert fill_price(ex, b) == D(21000)
    s = ex.place_order(acct, MNQ, 1, sell("Limit", price=D(20950)))
    assert fill_price(ex, s) == D(21000)
    at = ex.place_order(acct, MNQ, 1, sell("Limit", price=D(21000)))
    assert fill_price(ex, at) == D(21000)


def test_limit_waits_until_reached(ex: Exchange, acct: int) -> None:
    lim = ex.place_order(acct, MNQ, 1, sell("Limit", price=D(21010)))
    ex.set_price(MNQ, D("21009.75"))
    assert lim.ordStatus == "Working"
    ex.set_price(MNQ, D(21010))
    assert fill_price(ex, lim) == D(21010)


def test_market_order_fills_at_last(ex: Exchange, acct: int, mnq) -> None:
    ex.set_price(MNQ, D("21003.25"))
    o = ex.place_order(acct, MNQ, 4, buy())
    (f,) = fills(ex, o)
    assert (f.price, f.qty, f.action, f.contractId) == (D("21003.25"), 4, "Buy", mnq.id)
    assert o.filled_qty == 4


def test_stop_limit(ex: Exchange, acct: int) -> None:
    o = ex.place_order(acct, MNQ, 1, sell("StopLimit", stop_price=D(20990), price=D(20985)))
    ex.set_price(MNQ, D(20991))
    assert (o.ordStatus, o.triggered) == ("Working", False)
    ex.set_price(MNQ, D(20980))  # triggered, but below the limit: rests
    assert (o.ordStatus, o.triggered) == ("Working", True)
    ex.set_price(MNQ, D(20984))
    assert o.ordStatus == "Working"
    ex.set_price(MNQ, D(20987))  # resting limit reached: fills at its price
    assert fill_price(ex, o) == D(20985)


def test_stop_limit_triggered_and_marketable_fills_at_the_market(ex: Exchange, acct: int):
    o = ex.place_order(acct, MNQ, 1, buy("StopLimit", stop_price=D(21010), price=D(21015)))
    ex.set_price(MNQ, D(21012))
    assert fill_price(ex, o) == D(21012)


def test_modifying_a_triggered_stop_limit_keeps_it_a_limit(ex: Exchange, acct: int) -> None:
    o = ex.place_order(acct, MNQ, 1, sell("StopLimit", stop_price=D(20990), price=D(20995)))
    ex.set_price(MNQ, D(20990))  # triggered; 20990 < 20995 so the limit rests
    ex.set_price(MNQ, D(20992))
    assert (o.ordStatus, o.triggered) == ("Working", True)
    ex.modify_order(o.id, 2, sell("StopLimit", stop_price=D(20990), price=D(20995)))
    assert o.triggered
    ex.set_price(MNQ, D(20995))
    assert o.ordStatus == "Filled"


# --- rejections ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        buy("Limit", price=D("21000.1")),
        sell("Stop", stop_price=D("20990.3")),
        buy("StopLimit", stop_price=D(21010), price=D("21010.01")),
        sell("TrailingStop", stop_price=D(20990), peg_difference=D("10.1")),
        sell("TrailingStop", stop_price=D(20990), peg_difference=D(0)),
        sell("TrailingStop", peg_difference=D(10)),
        buy("Limit", price=D("Infinity")),
        buy("Limit", price=D("1E+999999999")),
        buy("Limit", price=D(0)),
        buy("Limit", price=D(-1)),
        buy("Limit"),
        sell("Stop"),
        sell("TrailingStop"),
    ],
)
def test_invalid_prices_are_rejected(ex: Exchange, acct: int, spec: OrderSpec) -> None:
    with pytest.raises(Rejected) as info:
        ex.place_order(acct, MNQ, 1, spec)
    assert info.value.reason == "InvalidPrice"
    assert ex.tables["order"] == {}


def test_off_tick_price_for_zn_and_6e(ex: Exchange, acct: int) -> None:
    zn, e6 = ex.contract("ZN1!"), ex.contract("6E1!")
    with pytest.raises(Rejected, match="InvalidPrice"):
        ex.place_order(acct, zn.name, 1, buy("Limit", price=D("109.01")))
    with pytest.raises(Rejected, match="InvalidPrice"):
        ex.place_order(acct, e6.name, 1, buy("Limit", price=D("1.04001")))
    o = ex.place_order(acct, zn.name, 1, buy("Limit", price=D("109.984375")))
    assert o.ordStatus == "Working"
    o = ex.place_order(acct, e6.name, 1, buy("Limit", price=D("1.04995")))
    assert o.ordStatus == "Working"


@pytest.mark.parametrize("symbol", ["FOO", "XYZ1!", "NQF7", "NQH6", "MNQU8", ""])
def test_unknown_symbol_is_access_denied(ex: Exchange, acct: int, symbol: str) -> None:
    with pytest.raises(Rejected) as info:
        ex.place_order(acct, symbol, 1, buy())
    assert (info.value.reason, info.value.text) == ("UnknownReason", "Access is denied")


def test_unknown_account_is_access_denied(ex: Exchange, acct: int) -> None:
    with pytest.raises(Rejected, match="Access is denied"):
        ex.place_order(999_999, MNQ, 1, buy())
    user_id = ex.tables["account"][acct].userId
    other = ex.add_user("other", "pw", 1, D(1000))
    with pytest.raises(Rejected, match="Access is denied"):
        ex.place_order(acct, MNQ, 1, buy(), user_id=other.id)
    assert ex.place_order(acct, MNQ, 1, buy(), user_id=user_id).ordStatus == "Filled"


@pytest.mark.parametrize("qty", [0, -1])
def test_quantity_must_be_positive(ex: Exchange, acct: int, qty: int) -> None:
    with pytest.raises(Rejected) as info:
        ex.place_order(acct, MNQ, qty, buy())
    assert info.value.reason == "UnknownReason"
    assert ex.tables["order"] == {}


@pytest.mark.parametrize(
    "spec",
    [
        buy("Stop", stop_price=D(20990)),
        buy("Stop", stop_price=D(21000)),
        sell("Stop", stop_price=D(21010)),
        sell("Stop", stop_price=D(21000)),
        buy("StopLimit", stop_price=D(20990), price=D(20995)),
        sell("TrailingStop", stop_price=D(21010)),
    ],
)
def test_stop_on_the_wrong_side_of_the_market(ex: Exchange, acct: int, spec: OrderSpec):
    with pytest.raises(Rejected) as info:
        ex.place_order(acct, MNQ, 1, spec)
    assert info.value.reason == "InvalidPrice"


def test_bad_action_and_order_type(ex: Exchange, acct: int) -> None:
    with pytest.raises(Rejected):
        ex.place_order(acct, MNQ, 1, OrderSpec("Hold", "Market"))
    with pytest.raises(Rejected) as info:
        ex.place_order(acct, MNQ, 1, OrderSpec("Buy", "Iceberg"))
    assert info.value.reason == "Unsupported"


def test_duplicate_cl_ord_id(ex: Exchange, acct: int, acct2: int) -> None:
    first = ex.place_order(acct, MNQ, 1, buy("Limit", price=D(20900), cl_ord_id="abc"))
    with pytest.raises(Rejected) as info:
        ex.place_order(acct, MNQ, 1, buy("Limit", price=D(20900), cl_ord_id="abc"))
    assert info.value.reason == "UnknownReason"
    # another account may reuse it; a cancelled order's id stays used
    other = ex.place_order(acct2, MNQ, 1, buy("Limit", price=D(20900), cl_ord_id="abc"))
    assert other.cl_ord_id == "abc"
    ex.cancel_order(first.id)
    with pytest.raises(Rejected):
        ex.place_order(acct, MNQ, 1, buy(cl_ord_id="abc"))
    assert ex.place_order(acct, MNQ, 1, buy(cl_ord_id="abd")).ordStatus == "Filled"


def test_a_rejected_order_does_not_use_up_its_cl_ord_id(ex: Exchange, acct: int) -> None:
    with pytest.raises(Rejected):
        ex.place_order(acct, MNQ, 1, buy("Limit", price=D("1.1"), cl_ord_id="x"))
    assert ex.place_order(acct, MNQ, 1, buy(cl_ord_id="x")).ordStatus == "Filled"


def test_cancelling_a_done_order_is_too_late(ex: Exchange, acct: int) -> None:
    filled = ex.place_order(acct, MNQ, 1, buy())
    with pytest.raises(Rejected) as info:
        ex.cancel_order(filled.id)
    assert info.value.reason == "TooLate"
    resting = ex.place_order(acct, MNQ, 1, buy("Limit", price=D(20900)))
    ex.cancel_order(resting.id)
    with pytest.raises(Rejected, match="TooLate"):
        ex.cancel_order(resting.id)
    with pytest.raises(Rejected, match="TooLate"):
        ex.modify_order(filled.id, 1, buy("Limit", price=D(20900)))
    with pytest.raises(Rejected):
        ex.cancel_order(999_999)


# --- modify --------------------------------------------------------------------------------------


def test_modify_creates_a_new_version(ex: Exchange, acct: int) -> None:
    o = ex.place_order(acct, MNQ, 1, buy("Limit", price=D(20900)))
    v1 = ex.version(o)
    cmd = ex.modify_order(o.id, 3, buy("Limit", price=D(20950)))
    assert cmd.commandType == "Modify"
    assert cmd.orderId == o.id
    v2 = ex.version(o)
    assert v2.id == cmd.id == o.version_id
    assert v2.id != v1.id
    assert (v2.orderQty, v2.price, v2.orderId) == (3, D(20950), o.id)
    assert (v1.orderQty, v1.price) == (1, D(20900))
    assert ex.tables["orderVersion"][v1.id] is v1
    assert o.ordStatus == "Working"
    ex.set_price(MNQ, D(20950))
    (f,) = fills(ex, o)
    assert (f.qty, f.price) == (3, D(20950))


def test_modified_order_made_marketable_fills_at_the_market(ex: Exchange, acct: int) -> None:
    o = ex.place_order(acct, MNQ, 1, buy("Limit", price=D(20990)))
    ex.modify_order(o.id, 1, buy("Limit", price=D(21005)))
    assert fill_price(ex, o) == D(21000)


def test_modify_type_and_action_is_kept(ex: Exchange, acct: int) -> None:
    o = ex.place_order(acct, MNQ, 1, sell("Limit", price=D(21050)))
    ex.modify_order(o.id, 1, buy("Stop", stop_price=D(20990)))  # action cannot change
    assert o.action == "Sell"
    assert ex.version(o).orderType == "Stop"
    ex.set_price(MNQ, D(20990))
    assert fills(ex, o)[0].action == "Sell"


def test_modify_is_validated(ex: Exchange, acct: int) -> None:
    o = ex.place_order(acct, MNQ, 1, buy("Limit", price=D(20990)))
    with pytest.raises(Rejected, match="InvalidPrice"):
        ex.modify_order(o.id, 1, buy("Limit", price=D("20990.1")))
    with pytest.raises(Rejected):
        ex.modify_order(o.id, 0, buy("Limit", price=D(20990)))
    assert ex.version(o).price == D(20990)


def test_modifying_a_suspended_child_keeps_it_suspended(ex: Exchange, acct: int) -> None:
    entry, tp, _ = ex.place_oso(
        acct, MNQ, 1, buy("Limit", price=D(20990)), sell("Limit", price=D(21020)), None
    )
    ex.modify_order(tp.id, 1, sell("Limit", price=D(20995)))  # would be marketable now
    assert tp.ordStatus == "Suspended"
    ex.set_price(MNQ, D(20990))
    assert entry.ordStatus == "Filled"
    assert tp.ordStatus == "Working"
    ex.set_price(MNQ, D(20995))
    assert fill_price(ex, tp) == D(20995)


# --- prices --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "price"),
    [("MNQZ6", "21000.1"), ("ZN1!", "110.01"), ("6E1!", "1.05001"), ("MNQZ6", "0"), ("ES1!", "-5")],
)
def test_set_price_off_the_grid_raises(ex: Exchange, symbol: str, price: str) -> None:
    contract = ex.contract(symbol)
    before = ex.last_price(contract)
    with pytest.raises(ValueError, match="tick grid"):
        ex.set_price(symbol, D(price))
    assert ex.last_price(contract) == before


def test_contract_lookup(ex: Exchange) -> None:
    assert ex.contract("ES1!").name == "ESZ6"
    assert ex.contract("ESZ6") is ex.contract("ES1!")
    assert ex.contract("esz6").name == "ESZ6"
    assert ex.contract("CME_MINI:MNQ1!").name == "MNQZ6"
    assert ex.contract("NQH27").name == "NQH7"
    assert ex.contract("NQH2027").name == "NQH7"
    assert ex.contract("CL1!").name == "CLF7"
    assert ex.contract("MGC1!").name == "MGCG7"
    with pytest.raises(Rejected, match="Access is denied"):
        ex.contract("NQ9!")


def test_random_walk_stays_on_the_grid(ex: Exchange) -> None:
    for symbol in ("MNQ1!", "ZN1!", "6E1!", "CL1!"):
        contract = ex.contract(symbol)
        for _ in range(20):
            last = ex.random_walk(symbol, 5)
            assert last == ex.last_price(contract)
            assert last > 0
            assert ex.set_price(symbol, last) == []  # on the grid: accepted


def test_random_walk_is_seeded() -> None:
    walks = [Exchange(FakeClock(), seed=s).random_walk("MNQ1!", 50) for s in (7, 7, 8)]
    assert walks[0] == walks[1]
    a, b = Exchange(FakeClock(), seed=7), Exchange(FakeClock(), seed=8)
    assert [a.random_walk("MNQ1!", 1) for _ in range(30)] != [
        b.random_walk("MNQ1!", 1) for _ in range(30)
    ]


# --- session roll --------------------------------------------------------------------------------


def test_session_roll_at_17_chicago_resets_realized(
    ex: Exchange, clock: FakeClock, acct: int, mnq, market
) -> None:
    market(acct, MNQ, 2)
    ex.set_price(MNQ, D(21010))
    market(acct, MNQ, -1)
    assert ex.cash_snapshot(acct)["realizedPnL"] == 20.0
    start_trade_date = ex.trade_date
    clock.advance(8 * 3600 - 1)  # 22:59:59 UTC = 16:59:59 Chicago (CST)
    snap = ex.cash_snapshot(acct)
    assert snap["realizedPnL"] == 20.0
    assert ex.trade_date == start_trade_date
    clock.advance(1)  # 17:00 Chicago: a new trading day (Friday evening -> Monday)
    snap = ex.cash_snapshot(acct)
    assert snap["realizedPnL"] == 0.0
    assert snap["weekRealizedPnL"] == 0.0  # Monday starts a new week
    assert snap["totalCashValue"] == 50_020.0  # cash keeps what was realized
    assert snap["openPnL"] == 20.0  # the open lot carries over
    assert ex.trade_date.isoformat() == "2026-11-30"
    pos = ex.position(acct, mnq.id)
    assert (pos.netPos, pos.prevPos, pos.prevPrice) == (1, 1, D(21000))
    assert (pos.bought, pos.sold) == (0, 0)
    market(acct, MNQ, -1)
    assert ex.cash(acct).realizedPnL == D(20)
    assert ex.cash(acct).amount == D(50_040)


def test_midweek_roll_keeps_week_realized() -> None:
    clock = FakeClock(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))  # a Tuesday
    ex = Exchange(clock, seed=1, accounts=3)
    account = next(iter(ex.tables["account"]))
    ex.place_order(account, MNQ, 1, buy())
    ex.set_price(MNQ, D(21005))
    ex.place_order(account, MNQ, 1, sell())
    clock.advance(8 * 3600)
    snap = ex.cash_snapshot(account)
    assert (snap["realizedPnL"], snap["weekRealizedPnL"]) == (0.0, 10.0)
    assert ex.trade_date.isoformat() == "2026-11-25"


def test_summer_roll_is_at_22_utc() -> None:
    clock = FakeClock(datetime(2026, 7, 15, 15, 0, tzinfo=UTC))  # CDT: UTC-5
    ex = Exchange(clock, seed=1, accounts=1)
    account = next(iter(ex.tables["account"]))
    symbol = ex.contract("MNQ1!").name
    ex.place_order(account, symbol, 1, buy())
    ex.set_price(symbol, D(21005))
    ex.place_order(account, symbol, 1, sell())
    clock.advance(7 * 3600 - 1)
    assert ex.cash_snapshot(account)["realizedPnL"] == 10.0
    clock.advance(1)
    assert ex.cash_snapshot(account)["realizedPnL"] == 0.0


def test_roll_happens_before_a_fill_is_booked(
    ex: Exchange, clock: FakeClock, acct: int, market
) -> None:
    market(acct, MNQ, 1)
    clock.advance(9 * 3600)
    ex.set_price(MNQ, D(21010))
    market(acct, MNQ, -1)
    (fill_in,) = [f for f in ex.tables["fill"].values() if f.action == "Sell"]
    assert fill_in.tradeDate.isoformat() == "2026-11-30"
    assert ex.cash(acct).realizedPnL == D(20)


def test_an_order_strategy_entry_keeps_its_quantity(ex: Exchange, acct: int) -> None:
    params = json.dumps(
        {
            "entryVersion": {"orderQty": 2, "orderType": "Limit", "price": 20900},
            "brackets": [{"qty": 2, "profitTarget": 10, "stopLoss": -5}],
        }
    )
    strategy = ex.start_order_strategy(acct, MNQ, "Buy", params)
    [entry] = [o for o in ex.tables["order"].values() if o.strategy_id == strategy.id]
    with pytest.raises(Rejected):
        ex.modify_order(entry.id, 3, buy("Limit", price=D(20900)))
    ex.modify_order(entry.id, 2, buy("Limit", price=D(20950)))
    assert ex.version(entry).price == D(20950)


def test_a_strategy_entry_cannot_move_its_exits_below_zero(ex: Exchange, acct: int) -> None:
    params = json.dumps(
        {
            "entryVersion": {"orderQty": 1, "orderType": "Limit", "price": 20000},
            "brackets": [{"qty": 1, "profitTarget": 10, "stopLoss": -15000}],
        }
    )
    strategy = ex.start_order_strategy(acct, MNQ, "Buy", params)
    [entry] = [o for o in ex.tables["order"].values() if o.strategy_id == strategy.id]
    with pytest.raises(Rejected, match="InvalidPrice"):
        ex.modify_order(entry.id, 1, buy("Limit", price=D(10000)))


def test_exits_from_a_gapped_fill_never_go_below_zero(ex: Exchange, acct: int) -> None:
    params = json.dumps(
        {
            "entryVersion": {"orderQty": 1, "orderType": "Stop", "stopPrice": 20000},
            "brackets": [{"qty": 1, "profitTarget": -19990, "stopLoss": 10}],
        }
    )
    ex.start_order_strategy(acct, MNQ, "Sell", params)
    ex.set_price(MNQ, D(5000))  # gaps far through the stop entry
    exits = [ex.version(o) for o in ex.tables["order"].values() if o.is_working]
    prices = sorted(v.price or v.stopPrice for v in exits)
    assert prices == [D("0.25"), D(5010)]
