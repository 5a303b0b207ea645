"""Drills, as an operator would run them, on SQLite and PostgreSQL: `justtrades serve` as its
own process (killed with SIGKILL in the middle of a burst, then started again on the same
database) against the Tradovate simulator on a real socket, and a broker fault storm. What
must hold afterwards:

- 0 lost: every alert the webhook answered 200 ended `done` (nothing stuck, nothing expired),
  or, for a trader whose order's answer was lost and which the broker could not show,
  `failed` with the outcome recorded `unknown` and why (never re-sent: that could double);
- 0 duplicated: at the broker, no (signal, trader) has two entries;
- every execution definite: none running, no broker call left `sent`, every `unknown` one
  with its reason;
- every open position protected: a working stop covers it;
- and each account holds what the last traded alert of each symbol asked for.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from justtrades.clock import SystemClock
from justtrades.config import Settings
from justtrades.execution import client_ids
from justtrades.execution.recovery import SUPERSEDED
from justtrades.models import Account, BrokerCall, Execution, Signal
from justtrades.models.db import create_engine, session_factory
from justtrades.sim.exchange import Exchange
from justtrades.sim.runner import SimServer
from justtrades.sim.server import create_sim_app
from tests.helpers import free_port
from tests.integration.service.conftest import seed_user

ROOTS = ("MNQ", "MES", "MYM")
BRACKET = {
    "tp_targets": [{"ticks": 40, "trim": 100}],
    "trim_units": "percent",
    "sl_enabled": True,
    "sl_amount": 20,
}
STOPS = ("Stop", "StopLimit", "TrailingStop")


class ServiceProcess:
    """`justtrades serve` in a process of its own."""

    def __init__(self, database_url: str, **env: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "JT_DATABASE_URL": database_url,
            "JT_SECRET_KEY": "test-secret-key",
            "JT_CUSTOM_BROKER_URLS": '["http://127.0.0.1"]',
            "JT_LOG_LEVEL": "WARNING",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "justtrades.cli", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def start(self) -> None:
        self.spawn()
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                try:
                    if (await http.get(f"{self.base_url}/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError("the service did not come up")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    exchange = Exchange(SystemClock(), seed=7, accounts=3)
    async with SimServer(create_sim_app(exchange)) as server:
        yield server


async def setup(http: httpx.AsyncClient, sim: SimServer) -> dict[str, str]:
    """A connection to the simulator's 3 accounts, a strategy per root with a trader on each
    account: root -> webhook URL."""
    r = await http.post(
        "/api/v1/connections",
        json={
            "broker": "tradovate",
            "name": "sim",
            "environment": "custom",
            "base_url": sim.api_url,
            "username": "demo",
            "password": "demo",
        },
    )
    assert r.status_code == 201, r.text
    accounts = r.json()["accounts"]
    hooks = {}
    for root in ROOTS:
        r = await http.post(
            "/api/v1/strategies", json={"name": root, "symbol": f"{root}1!", "settings": BRACKET}
        )
        assert r.status_code == 201, r.text
        hooks[root] = r.json()["webhook_url"]
        for a in accounts:
            t = await http.post(
                "/api/v1/traders", json={"strategy_id": r.json()["id"], "account_id": a["id"]}
            )
            assert t.status_code == 201, t.text
    return hooks


async def fire_waves(
    base_url: str,
    key: str,
    hooks: dict[str, str],
    waves: range,
    acked: dict[int, str],
    gap_secs: float = 0.03,
) -> None:
    """Each wave: every root at once, buy on even waves and sell on odd (reversals)."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as http:
        for wave in waves:
            side = "buy" if wave % 2 == 0 else "sell"

            async def one(root: str, side: str = side, wave: int = wave) -> None:
                body = f'{{"action": "{side}", "ticker": "{root}1!", "comment": "w{wave}"}}'
                try:
                    r = await http.post(hooks[root], content=body)
                except httpx.TransportError:
                    return  # not acknowledged: TradingView would retry it
                if r.status_code == 200:
                    acked[r.json()["signal_id"]] = root

            await asyncio.gather(*(one(root) for root in ROOTS))
            await asyncio.sleep(gap_secs)


async def settled(database_url: str, ids: list[int], limit_secs: float = 60) -> list[Signal]:
    db = create_engine(database_url)
    try:
        for _ in range(int(limit_secs / 0.1)):
            async with session_factory(db)() as s:
                rows = list(
                    (await s.execute(select(Signal).where(col(Signal.id).in_(ids)))).scalars()
                )
            if all(r.status not in ("accepted", "executing") for r in rows):
                return rows
            await asyncio.sleep(0.1)
        return rows
    finally:
        await db.dispose()


async def no_open_calls(database_url: str, limit_secs: float = 60) -> None:
    db = create_engine(database_url)
    try:
        for _ in range(int(limit_secs / 0.5)):
            async with session_factory(db)() as s:
                left = (
                    await s.execute(select(BrokerCall.id).where(BrokerCall.outcome == "unknown"))
                ).all()
            if not left:
                return
            await asyncio.sleep(0.5)
    finally:
        await db.dispose()


UNKNOWN = (") unknown: ", "is unknown at the broker", "not found after")
RATE_LIMITED = ("rate limit", "cooling down", "expired")


async def _why(database_url: str, rows: list[Signal]) -> list[Any]:
    """The executions and calls of the signals that did not end done (for the message)."""
    bad = [r.id for r in rows if r.status != "done"]
    db = create_engine(database_url)
    try:
        async with session_factory(db)() as s:
            found = await s.execute(
                select(Execution, BrokerCall)
                .join(BrokerCall, col(BrokerCall.execution_id) == col(Execution.id), isouter=True)
                .where(col(Execution.signal_id).in_(bad))
            )
            return [
                (e.signal_id, e.status, e.error, c and (c.endpoint, c.outcome, c.error))
                for e, c in found.all()
            ]
    finally:
        await db.dispose()


async def check(
    database_url: str, sim: SimServer, acked: dict[int, str], *, rate_limited: bool = False
) -> Counter[str]:
    """The drill's promises; returns the signals' statuses. With `rate_limited`, a signal may
    also end expired or failed, but only for a rate limit, each trader saying so."""
    # A 429 costs a 15 s cooldown, and an unknown outcome may be looked up for 60 s.
    rows = await settled(database_url, list(acked), 180 if rate_limited else 60)
    statuses = Counter(r.status for r in rows)
    assert len(rows) == len(acked), "an acknowledged signal is missing"
    allowed = {"done", "expired", "failed"} if rate_limited else {"done", "failed"}
    if not set(statuses) <= allowed:
        raise AssertionError((statuses, await _why(database_url, rows)))
    db = create_engine(database_url)
    try:
        async with session_factory(db)() as s:
            executions = list((await s.execute(select(Execution))).scalars())
            assert not [e for e in executions if e.status == "running"], "still running"
            for e in executions:
                if e.status != "done" and e.result != SUPERSEDED:
                    # Only what the policy allows: an outcome the broker could not tell (it is
                    # never re-sent), or under 429s the rate limit.
                    why = e.error or ""
                    allowed_why = UNKNOWN + (RATE_LIMITED if rate_limited else ())
                    assert any(w in why for w in allowed_why), why
            sent = (await s.execute(select(BrokerCall).where(BrokerCall.outcome == "sent"))).all()
            assert not sent, "a broker call was left as sent"
            unknown = list(
                (
                    await s.execute(select(BrokerCall).where(BrokerCall.outcome == "unknown"))
                ).scalars()
            )
            assert all(c.error for c in unknown), "an unknown outcome without its reason"
            signals = {r.id: r for r in (await s.execute(select(Signal))).scalars()}
            accounts = {
                a.id: a.broker_account_id for a in (await s.execute(select(Account))).scalars()
            }
    finally:
        await db.dispose()
    ex = sim.exchange
    entries: Counter[tuple[int, int]] = Counter()
    for strategy in ex.tables["orderStrategy"].values():
        parsed = client_ids.parse(strategy.uuid or "")
        assert parsed is not None, strategy.uuid
        entries[(parsed.signal_id, parsed.trader_id)] += 1
    for order in ex.tables["order"].values():
        parsed = client_ids.parse(order.cl_ord_id or "")
        if parsed is not None:
            entries[(parsed.signal_id, parsed.trader_id)] += 1
    doubled = {k: n for k, n in entries.items() if n > 1}
    assert not doubled, f"entered twice at the broker: {doubled}"
    # What each account should hold: the side of the last signal it traded, per root.
    want: dict[tuple[str, str], int] = {}
    done = [e for e in executions if e.status == "done" and e.account_id and e.symbol]
    done.sort(key=lambda e: (signals[e.signal_id].received_at, e.signal_id))
    for e in done:
        intent = signals[e.signal_id].intent or {}
        side = 1 if intent.get("action") == "buy" else -1
        want[(accounts[e.account_id], str(e.symbol))] = side  # type: ignore[index]
    orders = [ex.order_json(o) for o in ex.tables["order"].values()]
    names = {c.id: c.name for c in ex.tables["contract"].values()}
    for position in ex.tables["position"].values():
        name = names[position.contractId]
        if position.netPos == 0:
            continue
        stops = sum(
            o["orderQty"]
            for o in orders
            if o["accountId"] == position.accountId
            and o["contractName"] == name
            and o["ordStatus"] == "Working"
            and o["orderType"] in STOPS
        )
        assert stops >= abs(position.netPos), f"unprotected: {name} {position.netPos}"
        expected = want.get((str(position.accountId), name))
        assert position.netPos == expected, (name, position.accountId, position.netPos, expected)
    return statuses


async def test_kill_9_during_a_burst_then_restart_loses_and_doubles_nothing(
    database_url: str, sim: SimServer
) -> None:
    settings = Settings(database_url=database_url, secret_key="test-secret-key")
    key, _ = await seed_user(settings, SystemClock())  # type: ignore[arg-type]
    service = ServiceProcess(database_url)
    await service.start()
    try:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=service.base_url, headers=headers) as http:
            hooks = await setup(http, sim)
        async with httpx.AsyncClient() as control:  # a broker with a round trip
            await control.post(f"{sim.base_url}/_sim/faults", json={"latency_ms": 15})
        acked: dict[int, str] = {}
        burst = asyncio.create_task(fire_waves(service.base_url, key, hooks, range(40), acked))
        await asyncio.sleep(0.6)  # in the middle of it
        service.kill9()
        await burst
        killed_at = len(acked)
        await service.start()  # a new process on the same database
        await fire_waves(service.base_url, key, hooks, range(40, 46), acked)
        statuses = await check(database_url, sim, acked)
        if os.environ.get("JT_DRILL_KEEP"):
            print("DRILL", database_url, killed_at, len(acked))
        assert killed_at > 3 and statuses["done"] == len(acked)
    finally:
        service.stop()


async def test_a_broker_fault_storm_loses_and_doubles_nothing(
    database_url: str, sim: SimServer
) -> None:
    """5 % of requests answered 500 after the broker acted, latency spikes past the 0.5 s
    timeout (about 2 % of requests), every session's token expired: every alert is traded
    once. Then 429s on top: an alert is traded once or ends with the rate limit as its
    reason, never doubled."""
    settings = Settings(database_url=database_url, secret_key="test-secret-key")
    key, _ = await seed_user(settings, SystemClock())  # type: ignore[arg-type]
    service = ServiceProcess(database_url, JT_BROKER_TIMEOUT_SECS="0.5")
    await service.start()
    try:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=service.base_url, headers=headers) as http:
            hooks = await setup(http, sim)
        storm = {
            "latency_ms": 100,
            "jitter_ms": 420,  # up to 520 ms: a few requests outlive the 0.5 s timeout
            "error_rate": 0.05,
            "error_after_processing": True,  # the order exists, the answer is a 500
            "expire_tokens": True,  # every session must log in again
        }
        async with httpx.AsyncClient() as control:
            r = await control.post(f"{sim.base_url}/_sim/faults", json=storm)
            assert r.status_code == 200, r.text
        acked: dict[int, str] = {}
        # one alert per symbol a second: a broker this slow (0.2 s a request on average)
        # takes about 2 s for a reversal, so faster alerts would queue on their lanes past
        # their maximum age (that is expiry, not this drill)
        await fire_waves(service.base_url, key, hooks, range(10), acked, gap_secs=1.0)
        statuses = await check(database_url, sim, acked)
        assert statuses["done"] == len(acked) == 30
        async with httpx.AsyncClient() as control:
            storm.update(http_429_rate=0.02, expire_tokens=False)
            r = await control.post(f"{sim.base_url}/_sim/faults", json=storm)
            assert r.status_code == 200, r.text
        await fire_waves(service.base_url, key, hooks, range(10, 16), acked, gap_secs=1.0)
        await settled(database_url, list(acked), 180)
        async with httpx.AsyncClient() as control:  # the storm is over
            await control.post(f"{sim.base_url}/_sim/faults", json={})
        await no_open_calls(database_url)  # what was left unknown is settled late
        statuses = await check(database_url, sim, acked, rate_limited=True)
        assert sum(statuses.values()) == len(acked) == 48
    finally:
        service.stop()
