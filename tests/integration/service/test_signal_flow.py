"""TradingView alert -> signal -> parallel execution on every account -> the simulator, over
real sockets, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
from sqlmodel import select

from justtrades.clock import FakeClock
from justtrades.sim.runner import SimServer
from tests.helpers import eventually

from .conftest import Service, start_service

D = Decimal


def exits(position: dict[str, Any]) -> set[tuple[str, int, Decimal]]:
    return {
        (o["order_type"], o["qty"], D(str(o["price"] or o["stop_price"])))
        for o in position["working_orders"]
    }


async def test_entry_on_three_accounts_with_multipliers(service: Service) -> None:
    r = await service.fire({"action": "buy", "ticker": "MNQ1!"})
    assert r.status_code == 200, r.text
    signal_id = r.json()["signal_id"]
    signal = await eventually(lambda: service.finished(signal_id))
    assert signal["status"] == "done", signal
    positions = await service.positions()
    assert {aid: p["net_pos"] for aid, p in positions.items()} == {
        a["id"]: m for m, a in enumerate(service.accounts, 1)
    }
    for multiplier, account in enumerate(service.accounts, 1):
        p = positions[account["id"]]
        assert D(str(p["avg_price"])) == D(21000)
        # TP 40 ticks = 10 points above, SL 20 ticks = 5 points below, for the whole position
        assert exits(p) == {("Limit", multiplier, D(21010)), ("Stop", multiplier, D(20995))}
    executions = signal["executions"]
    assert len(executions) == 3
    for e in executions:
        assert e["status"] == "done"
        endpoints = [c["endpoint"] for c in e["broker_calls"]]
        assert endpoints == ["get_position", "place_bracket"]
        assert all(c["latency_ms"] is not None and c["outcome"] == "ok" for c in e["broker_calls"])
        assert e["broker_calls"][1]["client_order_id"]
        assert "entry from flat" in e["plan"]["explanation"]


async def test_close_flattens_every_account(service: Service) -> None:
    first = (await service.fire("buy MNQ1!")).json()["signal_id"]
    await eventually(lambda: service.finished(first))
    r = await service.fire({"action": "close", "ticker": "MNQ1!"})
    signal = await eventually(lambda: service.finished(r.json()["signal_id"]))
    assert signal["status"] == "done"
    assert await service.positions() == {}
    for e in signal["executions"]:
        assert [c["endpoint"] for c in e["broker_calls"]] == ["get_position", "flatten"]


async def test_reversal_closes_then_enters_the_other_side(service: Service) -> None:
    first = (await service.fire("buy MNQ1!")).json()["signal_id"]
    await eventually(lambda: service.finished(first))
    r = await service.fire("sell MNQ1!")
    signal = await eventually(lambda: service.finished(r.json()["signal_id"]))
    assert signal["status"] == "done"
    for e in signal["executions"]:  # the entry only after the broker shows the close done
        assert [c["endpoint"] for c in e["broker_calls"]] == [
            "get_position",
            "flatten",
            "get_position",
            "place_bracket",
        ]
    positions = await service.positions()
    assert sorted(p["net_pos"] for p in positions.values()) == [-3, -2, -1]
    for p in positions.values():
        size = -p["net_pos"]
        assert exits(p) == {("Limit", size, D(20990)), ("Stop", size, D(21005))}


async def test_close_while_flat_sends_nothing(service: Service) -> None:
    r = await service.fire("close")
    signal = await eventually(lambda: service.finished(r.json()["signal_id"]))
    assert signal["status"] == "done"
    for e in signal["executions"]:
        assert [c["endpoint"] for c in e["broker_calls"]] == ["get_position"]
        assert "nothing to do" in e["plan"]["note"]
    assert await service.positions() == {}


async def test_unknown_token_is_404_and_reveals_nothing(service: Service) -> None:
    r = await service.http.post("/webhook/not-a-token", json={"action": "buy"})
    assert r.status_code == 404
    assert "strategy" not in r.text.lower()
    assert (await service.http.get("/webhook/not-a-token")).status_code == 404
    live = await service.http.get(service.webhook)
    assert live.status_code == 200 and live.json()["live"] is True


async def test_bad_body_is_a_precise_4xx_recorded_and_never_traded(service: Service) -> None:
    r = await service.fire('{"action": "hold", "ticker": "MNQ1!"}')
    assert r.status_code == 422
    body = r.json()
    assert "hold" in body["error"]
    signal = await service.signal(body["signal_id"])
    assert signal["status"] == "rejected" and "hold" in signal["error"]
    assert signal["executions"] == []
    assert await service.positions() == {}


async def test_duplicate_within_the_window_trades_once(service: Service) -> None:
    body = {"action": "buy", "ticker": "MNQ1!", "time": "2026-11-27T15:00:00Z"}
    first, second = await service.fire(body), await service.fire(body)
    assert first.json()["status"] == "accepted"
    assert second.json()["status"] == "duplicate"
    await eventually(lambda: service.finished(first.json()["signal_id"]))
    positions = await service.positions()
    assert sorted(p["net_pos"] for p in positions.values()) == [1, 2, 3]


@asynccontextmanager
async def restarted_service(
    database_url: str, clock: FakeClock, service: Service
) -> AsyncIterator[Service]:
    """A new process of the service on the same database, seen with the same user's key."""
    server, _ = await start_service(database_url, clock)
    try:
        headers = {"Authorization": f"Bearer {service.key}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
            yield Service(server.base_url, http, service.key, service.strategy, service.accounts)
    finally:
        await server.stop()


async def accepted_rows(
    database_url: str, service: Service, clock: FakeClock, bodies: list[tuple[str, float]]
) -> list[int]:
    """Signals accepted by a process that died before executing them: rows as intake writes
    them (status accepted, parsed intent), received `age` seconds ago."""
    from datetime import timedelta

    from justtrades.execution.intake import body_hash
    from justtrades.execution.signal import parse_signal
    from justtrades.models import Signal
    from justtrades.models.db import create_engine, session_factory

    engine = create_engine(database_url)
    ids = []
    try:
        async with session_factory(engine)() as s:
            for body, age in bodies:
                row = Signal(
                    user_id=service.strategy_owner,
                    strategy_id=service.strategy["id"],
                    received_at=clock.now() - timedelta(seconds=age),
                    body=body,
                    body_hash=body_hash(body.encode()),
                    status="accepted",
                    intent=parse_signal(body.encode()).model_dump(mode="json"),
                )
                s.add(row)
                await s.flush()
                ids.append(row.id)
            await s.commit()
    finally:
        await engine.dispose()
    return ids


async def test_stale_signal_after_restart_is_expired_and_fresh_one_executed(
    database_url: str, clock: FakeClock, service: Service
) -> None:
    stale, fresh = await accepted_rows(
        database_url, service, clock, [("buy MNQ1!", 45.0), ("sell MNQ1!", 2.0)]
    )
    async with restarted_service(database_url, clock, service) as restarted:  # a new process
        done = await eventually(lambda: restarted.finished(fresh))
        assert done["status"] == "done"
        old = await restarted.signal(stale)
        assert old["status"] == "expired"
        assert "restart" in old["status_reason"] and "45" in old["status_reason"]
        assert old["executions"] == []
        positions = await restarted.positions()
        assert sorted(p["net_pos"] for p in positions.values()) == [-3, -2, -1]
        # a retry of the fresh body, just after the restart, is still a duplicate
        token = service.webhook.rsplit("/", 1)[1]
        again = await restarted.http.post(f"/webhook/{token}", content=b"sell MNQ1!")
        assert again.json()["status"] == "duplicate"


async def test_a_signal_recovered_for_a_strategy_disabled_meanwhile_is_not_traded(
    database_url: str, clock: FakeClock, service: Service
) -> None:
    [pending] = await accepted_rows(database_url, service, clock, [("buy MNQ1!", 1.0)])
    r = await service.http.patch(
        f"/api/v1/strategies/{service.strategy['id']}", json={"enabled": False}
    )
    assert r.status_code == 200
    async with restarted_service(database_url, clock, service) as restarted:  # a new process
        done = await eventually(lambda: restarted.finished(pending))
        assert done["status"] == "ignored" and done["executions"] == []
        assert await restarted.positions() == {}


async def test_one_failing_broker_never_stops_the_others(
    service: Service, other_sim: SimServer
) -> None:
    flaky = await service.link(other_sim, "flaky")
    await service.bind(flaky)
    async with httpx.AsyncClient(base_url=other_sim.base_url) as control:
        await control.post("/_sim/faults", json={"error_rate": 1.0})
    r = await service.fire("buy MNQ1!")
    signal = await eventually(lambda: service.finished(r.json()["signal_id"]))
    assert signal["status"] == "failed"
    by_account = {e["account_id"]: e for e in signal["executions"]}
    assert by_account[flaky["id"]]["status"] == "failed"
    assert "HTTP 500" in by_account[flaky["id"]]["error"]
    positions = await service.positions()
    assert {aid: p["net_pos"] for aid, p in positions.items() if aid != flaky["id"]} == {
        a["id"]: m for m, a in enumerate(service.accounts, 1)
    }


async def test_a_slow_broker_never_delays_the_others(
    service: Service, other_sim: SimServer
) -> None:
    slow = await service.link(other_sim, "slow")
    await service.bind(slow)
    async with httpx.AsyncClient(base_url=other_sim.base_url) as control:
        await control.post("/_sim/faults", json={"latency_ms": 1500})
    r = await service.fire("buy MNQ1!")
    signal_id = r.json()["signal_id"]

    async def fast_ones_done() -> bool:
        executions = (await service.signal(signal_id))["executions"]
        done = {e["account_id"] for e in executions if e["status"] == "done"}
        return {a["id"] for a in service.accounts} <= done

    await eventually(fast_ones_done, timeout_secs=1.2)

    async def slow_shown() -> Any:
        # shown running 50 ms after its lane turn (its row is written then, records.py)
        executions = (await service.signal(signal_id))["executions"]
        return next((e for e in executions if e["account_id"] == slow["id"]), None)

    slow_execution = await eventually(slow_shown, timeout_secs=1.0)
    assert slow_execution["status"] == "running"  # still waiting for its broker
    final = await eventually(lambda: service.finished(signal_id), timeout_secs=15)
    assert final["status"] == "done"


async def test_a_signal_cut_off_before_any_order_is_run_again_and_one_after_is_not(
    database_url: str, clock: FakeClock, service: Service
) -> None:
    """What a process killed mid-fan-out leaves, settled at the broker before anything is
    decided: a write-ahead record whose order is at the broker is recorded as found and never
    sent again; one whose order never reached the broker lets its trader run again; a trader
    that had only read runs afresh."""
    from justtrades.admin import connection_spec
    from justtrades.brokers.base import OrderRequest, Side
    from justtrades.execution.lookups import NOT_AT_BROKER
    from justtrades.instruments import resolve
    from justtrades.models import Account, BrokerCall, BrokerConnection, Execution, Signal
    from justtrades.models.db import create_engine, session_factory

    before, after = await accepted_rows(
        database_url, service, clock, [("buy MNQ1!", 1.0), ("buy MES1!", 1.0)]
    )
    mes = resolve("MES1!", clock.now().date()).name
    assert service.server is not None
    svc = service.server.app.state.services
    async with svc.sessions() as s:
        account = await s.get(Account, service.accounts[0]["id"])
        assert account is not None
        conn = await s.get(BrokerConnection, account.connection_id)
        assert conn is not None
    broker = svc.registry.get(connection_spec(conn))
    placed = await broker.place_order(  # it reached the broker before the process died
        OrderRequest(account.broker_account_id, mes, Side.BUY, 1, "jt-at-the-broker")
    )
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as s:
            for signal_id in (before, after):
                signal = await s.get(Signal, signal_id)
                assert signal is not None
                signal.status = "executing"
                for n, (trader, account_row) in enumerate(
                    zip(service.traders, service.accounts, strict=True)
                ):
                    execution = Execution(
                        signal_id=signal_id,
                        trader_id=trader["id"],
                        account_id=account_row["id"],
                        status="running",
                        plan={"steps": ["buy 1"]},
                    )
                    s.add(execution)
                    await s.flush()
                    assert execution.id is not None
                    ordered = signal_id == after and n < 2
                    cid = ("jt-at-the-broker", "jt-never-sent")[n] if ordered else None
                    s.add(
                        BrokerCall(
                            execution_id=execution.id,
                            seq=1,
                            endpoint="place_order" if ordered else "get_position",
                            client_order_id=cid,
                            request={"symbol": mes},
                            outcome="sent" if ordered else "ok",
                        )
                    )
            await s.commit()
    finally:
        await engine.dispose()
    async with restarted_service(database_url, clock, service) as restarted:  # a new process
        done = await eventually(lambda: restarted.finished(before))
        assert done["status"] == "done", done
        assert len(done["executions"]) == 3  # afresh: the cut-off attempts are gone
        assert all(e["status"] == "done" for e in done["executions"])
        cut = await eventually(lambda: restarted.finished(after))
        assert cut["status"] == "done", cut
        by_account: dict[int, list[dict[str, Any]]] = {}
        for e in cut["executions"]:
            by_account.setdefault(e["account_id"], []).append(e)
        found, never, reads = (by_account[a["id"]] for a in service.accounts)
        [kept] = found  # at the broker: settled, kept, never re-run
        assert kept["status"] == "done", kept
        [call] = kept["broker_calls"]
        assert call["outcome"] == "ok" and call["response"]["order_id"] == placed.order_id
        assert call["response"]["found_by"] == "client order id, at restart"
        skipped, rerun = sorted(never, key=lambda e: e["id"])
        assert skipped["status"] == "skipped" and "never reached" in skipped["error"]
        assert skipped["broker_calls"][0]["outcome"] == "failed"
        assert skipped["broker_calls"][0]["error"] == NOT_AT_BROKER
        assert rerun["status"] == "done"
        [afresh] = reads
        assert afresh["status"] == "done"
        listed = (await restarted.http.get("/api/v1/positions")).json()["positions"]
        net = {p["account_id"]: p["net_pos"] for p in listed if p["symbol"] == mes}
        assert [net[a["id"]] for a in service.accounts] == [1, 2, 3]  # the first never doubled


async def test_traders_come_from_memory_and_a_saved_change_applies_to_the_next_signal(
    service: Service,
) -> None:
    assert service.server is not None
    cache = service.server.app.state.services.engine.traders
    first = await service.fire({"action": "buy", "ticker": "MNQ1!", "comment": "1"})
    await eventually(lambda: service.finished(first.json()["signal_id"]))
    loads = cache.loads
    second = await service.fire({"action": "close", "ticker": "MNQ1!"})
    await eventually(lambda: service.finished(second.json()["signal_id"]))
    assert cache.loads == loads  # no database read to dispatch it
    one, two, three = service.traders
    r = await service.http.patch(f"/api/v1/traders/{one['id']}", json={"multiplier": "4"})
    assert r.status_code == 200, r.text
    assert (await service.http.delete(f"/api/v1/traders/{two['id']}")).status_code == 204
    third = await service.fire({"action": "buy", "ticker": "MNQ1!", "comment": "3"})
    done = await eventually(lambda: service.finished(third.json()["signal_id"]))
    assert done["status"] == "done"
    assert sorted(e["account_id"] for e in done["executions"]) == sorted(
        [one["account_id"], three["account_id"]]
    )  # the deleted trader no longer trades
    positions = await service.positions()
    assert positions[one["account_id"]]["net_pos"] == 4  # the new multiplier
    assert positions[three["account_id"]]["net_pos"] == 3


async def test_an_outcome_left_unknown_is_settled_later_and_the_records_corrected(
    service: Service, clock: FakeClock
) -> None:
    """The broker could not be asked while the trade ran (say a long rate-limit cooldown):
    the order call ended `unknown`, its execution and signal `failed`. Once the broker
    answers, the late settler finds the order and corrects all three."""
    from justtrades.admin import connection_spec
    from justtrades.brokers.base import OrderRequest, Side
    from justtrades.instruments import resolve
    from justtrades.models import Account, BrokerCall, BrokerConnection, Execution, Signal

    assert service.server is not None
    svc = service.server.app.state.services
    r = await service.fire({"action": "buy", "ticker": "MNQ1!", "comment": "late"})
    signal_id = r.json()["signal_id"]
    await eventually(lambda: service.finished(signal_id))
    mnq = resolve("MNQ1!", clock.now().date()).name
    async with svc.sessions() as s:
        account = await s.get(Account, service.accounts[0]["id"])
        assert account is not None
        conn = await s.get(BrokerConnection, account.connection_id)
        assert conn is not None
        broker = svc.registry.get(connection_spec(conn))
        await broker.place_order(
            OrderRequest(account.broker_account_id, mnq, Side.BUY, 1, "jt-late-1")
        )
        signal = await s.get(Signal, signal_id)
        assert signal is not None
        signal.status, signal.status_reason = "failed", "1 of 3 traders failed"
        execution = Execution(
            signal_id=signal_id,
            trader_id=service.traders[0]["id"],
            account_id=account.id,
            symbol=mnq,
            status="failed",
            error="step 1 unknown: rate limited",
            created_at=clock.now(),
        )
        s.add(execution)
        await s.flush()
        s.add(
            BrokerCall(
                execution_id=execution.id,
                seq=2,
                endpoint="place_order",
                client_order_id="jt-late-1",
                request={"symbol": mnq, "step": "1/1"},
                outcome="unknown",
                error="UnknownOutcome: HTTP 429",
                started_at=clock.now(),
            )
        )
        others = (
            await s.execute(select(Execution).where(Execution.signal_id == signal_id))
        ).scalars()
        for other in others:  # the first run's executions (this test's own row aside)
            if other.id != execution.id and other.account_id == account.id:
                await s.delete(other)
        await s.commit()
    assert await svc.engine.late.once() == 1
    fixed = await service.signal(signal_id)
    assert fixed["status"] == "done", fixed
    [mine] = [e for e in fixed["executions"] if e["account_id"] == account.id]
    assert mine["status"] == "done"
    assert mine["broker_calls"][0]["outcome"] == "ok"
    assert "settled later" in mine["broker_calls"][0]["error"]
    assert await svc.engine.late.once() == 0  # settled once
