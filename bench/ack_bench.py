"""The webhook's answer time against a yardstick: `justtrades serve` (a strategy without
traders: parse, dedup, the signal's INSERT, queue) and a bare Starlette endpoint doing one
INSERT of the body (bench/bare_app.py), each its own uvicorn process on the same database
backend, asked in turn by one client at the same rate. Run: `python -m bench.ack_bench`
(part of `make bench`). The goal: the service's p50 and p99 within 2x of the bare INSERT's."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import httpx

from bench.service_bench import CLI, seed_with_cli
from bench.sim_bench import each_backend, free_port, ms, pct, table, write_section

REQUESTS = 600


def cli_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "JT_DATABASE_URL": database_url,
        "JT_SECRET_KEY": "bench-key-0123456789",
        "JT_LOG_LEVEL": "WARNING",
        "JT_DEDUP_WINDOW_SECS": "0",
    }


async def healthy(url: str) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(400):
            try:
                await c.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def measure(service: str, key: str, bare: str) -> tuple[list[float], list[float]]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=service, headers=headers, timeout=30) as http:
        strategy = (await http.post("/api/v1/strategies", json={"name": "acks"})).json()
        hook = strategy["webhook_url"]
        ours, theirs = [], []
        async with httpx.AsyncClient(timeout=30) as other:
            for i in range(REQUESTS + 50):  # in turn, so both see the same noise and rate
                body = f'{{"action": "buy", "ticker": "MNQ1!", "comment": "{i}"}}'
                t = time.perf_counter()
                r = await http.post(hook, content=body)
                a = time.perf_counter() - t
                assert r.status_code == 200, r.text
                t = time.perf_counter()
                r = await other.post(f"{bare}/hook", content=body)
                b = time.perf_counter() - t
                assert r.status_code == 200, r.text
                if i >= 50:  # warmed up
                    ours.append(a)
                    theirs.append(b)
    return ours, theirs


def run_backend(url_of: str, tag: str, rows: list[tuple[str, str]]) -> None:
    env = cli_env(url_of)
    cli = CLI
    key = seed_with_cli(env, "acks@example.com")
    app_port, bare_port = free_port(), free_port()
    app = subprocess.Popen(
        [*cli, "serve", "--port", str(app_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bare = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_app", url_of, str(bare_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        service, yardstick = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{bare_port}"

        async def go() -> tuple[list[float], list[float]]:
            await healthy(f"{service}/health")
            await healthy(f"{yardstick}/hook")
            return await measure(service, key, yardstick)

        ours, theirs = asyncio.run(go())
    finally:
        for proc in (app, bare):
            proc.terminate()
            proc.wait(timeout=10)
    rows.append((f"{tag}: webhook answer, `justtrades serve`", ms(ours)))
    rows.append((f"{tag}: bare Starlette + one INSERT", ms(theirs)))
    rows.append(
        (
            f"{tag}: ratio (service / bare)",
            f"p50 {pct(ours, 0.5) / pct(theirs, 0.5):.2f}x, "
            f"p99 {pct(ours, 0.99) / pct(theirs, 0.99):.2f}x (goal: 2x or less)",
        )
    )


def main() -> None:
    rows: list[tuple[str, str]] = []
    each_backend("ack_bench", lambda url, tag: run_backend(url, tag, rows))
    lines = [
        "",
        f"One client, {REQUESTS} requests to each in turn (after 50 to warm up), each its own",
        "uvicorn process on 127.0.0.1 and the same database: the service's webhook for a",
        "strategy without traders, and a bare Starlette endpoint doing one committed INSERT.",
        "",
        *table(rows),
    ]
    write_section("Webhook answer against a bare INSERT", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
