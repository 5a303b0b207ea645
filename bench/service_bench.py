"""Benchmark of the whole service: `justtrades serve` and the Tradovate simulator as their own
processes on 127.0.0.1, on SQLite and on PostgreSQL. Run: `make bench`.

Measures the webhook's answer time (what TradingView waits for), and from the recorded calls of
each signal: received -> first order sent, received -> last order acknowledged, and the skew
between the first and the last account. Appends to bench/RESULTS.md.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import datetime
from typing import Any

import httpx

from bench.sim_bench import each_backend, free_port, ms, table, wait_listening, write_section

ACCOUNTS = 10
SIGNALS = 40
ACKS = 300


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def wait_done(http: httpx.AsyncClient, signal_id: int) -> dict[str, Any]:
    for _ in range(2000):
        data: dict[str, Any] = (await http.get(f"/api/v1/signals/{signal_id}")).json()
        if data["status"] not in ("accepted", "executing"):
            return data
        await asyncio.sleep(0.01)
    raise RuntimeError(f"signal {signal_id} did not finish")


async def measure(base: str, key: str, sim_api: str, rows: list[tuple[str, str]], tag: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        accounts = (
            await http.post(
                "/api/v1/connections",
                json={
                    "broker": "tradovate",
                    "name": "bench",
                    "environment": "custom",
                    "base_url": sim_api,
                    "username": "demo",
                    "password": "demo",
                },
            )
        ).json()["accounts"]
        idle = (await http.post("/api/v1/strategies", json={"name": "no traders"})).json()
        busy = (
            await http.post(
                "/api/v1/strategies",
                json={
                    "name": "bench",
                    "settings": {
                        "tp_targets": [{"ticks": 40, "trim": 100}],
                        "trim_units": "percent",
                        "sl_enabled": True,
                        "sl_amount": 20,
                    },
                },
            )
        ).json()
        for a in accounts:
            await http.post(
                "/api/v1/traders", json={"strategy_id": busy["id"], "account_id": a["id"]}
            )
        acks = []
        for i in range(ACKS):
            t = time.perf_counter()
            r = await http.post(idle["webhook_url"], json={"action": "buy", "comment": str(i)})
            acks.append(time.perf_counter() - t)
            assert r.status_code == 200
        rows.append((f"{tag}: webhook answer (no traders)", ms(acks)))
        first_sent, last_ack, skew, busy_acks = [], [], [], []
        for i in range(SIGNALS):
            body = {
                "action": "buy" if i % 2 == 0 else "close",
                "ticker": "MNQ1!",
                "comment": str(i),
            }
            t = time.perf_counter()
            r = await http.post(busy["webhook_url"], json=body)
            busy_acks.append(time.perf_counter() - t)
            signal = await wait_done(http, r.json()["signal_id"])
            received = ts(signal["received_at"])
            orders = [
                c
                for e in signal["executions"]
                for c in e["broker_calls"]
                if c["endpoint"] in ("place_bracket", "flatten")
            ]
            assert signal["status"] == "done" and len(orders) == ACCOUNTS, signal["status"]
            starts = [ts(c["started_at"]) for c in orders]
            ends = [ts(c["started_at"]).timestamp() + c["latency_ms"] / 1000 for c in orders]
            first_sent.append((min(starts) - received).total_seconds())
            last_ack.append(max(ends) - received.timestamp())
            skew.append(max(ends) - min(ends))
        rows.append((f"{tag}: webhook answer ({ACCOUNTS} traders)", ms(busy_acks)))
        rows.append((f"{tag}: received -> first order sent", ms(first_sent)))
        rows.append((f"{tag}: received -> last of {ACCOUNTS} accounts acknowledged", ms(last_ack)))
        rows.append((f"{tag}: first-to-last account skew", ms(skew)))


CLI = [sys.executable, "-m", "justtrades.cli"]


def seed_with_cli(env: dict[str, str], email: str) -> str:
    """Migrate the database, create a user and print its API key, as an operator would."""
    subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*CLI, "user", "create", "--email", email, "--password", "bench-password"],
        env=env,
        check=True,
        capture_output=True,
    )
    return subprocess.run(
        [*CLI, "apikey", "create", "--email", email],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def run_backend(database_url: str, tag: str, rows: list[tuple[str, str]]) -> None:
    env = {
        **os.environ,
        "JT_DATABASE_URL": database_url,
        "JT_SECRET_KEY": "bench-key",
        "JT_LOG_LEVEL": "WARNING",
        "JT_CUSTOM_BROKER_URLS": '["http://127.0.0.1"]',
        "JT_DEDUP_WINDOW_SECS": "0",
    }
    cli = CLI
    key = seed_with_cli(env, "bench@example.com")
    sim_port, app_port = free_port(), free_port()
    sim = subprocess.Popen(
        [*cli, "sim", "tradovate", "--port", str(sim_port), "--accounts", str(ACCOUNTS)],
        stdout=subprocess.DEVNULL,
    )
    app = subprocess.Popen(
        [*cli, "serve", "--port", str(app_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{app_port}"

        async def go() -> None:
            await wait_listening(f"http://127.0.0.1:{sim_port}")
            async with httpx.AsyncClient() as c:
                for _ in range(300):
                    try:
                        if (await c.get(f"{base}/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
            await measure(base, key, f"http://127.0.0.1:{sim_port}/v1", rows, tag)

        asyncio.run(go())
    finally:
        for proc in (app, sim):
            proc.terminate()
            proc.wait(timeout=10)


def main() -> None:
    rows: list[tuple[str, str]] = []
    each_backend("bench", lambda url, tag: run_backend(url, tag, rows))
    lines = [
        "",
        f"`justtrades serve` and `justtrades sim tradovate --accounts {ACCOUNTS}` as separate",
        f"processes on 127.0.0.1; {ACKS} webhook answers for a strategy without traders, then",
        f"{SIGNALS} signals (buy / close alternately) fanned out to {ACCOUNTS} accounts, each",
        "waited for. Times from the service's own records (received_at, broker call start and",
        "latency).",
        "",
        *table(rows),
    ]
    write_section("Whole service — webhook to orders on every account", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
