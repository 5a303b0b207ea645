"""What the operations foundation costs on the hot path, as ratios measured in one run:
a JSON log line (with masking) against a bare json.dumps of the same fields, a broker call
through the metering wrapper against the same call unwrapped, a request through the access-log
middleware against the same app without it, and one /metrics render.

Run: `make bench` (or `python -m bench.ops_bench`). Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Awaitable, Callable

import httpx
from fastapi import FastAPI

from bench.sim_bench import table, write_section
from justtrades import logs
from justtrades.api.access import AccessLog
from justtrades.brokers.metered import MeteredBroker
from justtrades.brokers.paper import PaperBroker
from justtrades.clock import SystemClock
from justtrades.metrics import Metrics
from justtrades.sim.exchange import Exchange

N = 20_000
N_REQUESTS = 2_000
FIELDS = {
    "signal_id": 123,
    "trader_id": 4,
    "account_id": 9,
    "status": "done",
    "summary": "enter long 2 MNQH7: bracket TP 21010.00 SL 20995.00; ok",
}


def per_call(n: int, work: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(n):
        work()
    return (time.perf_counter() - started) / n


async def per_call_async(n: int, work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await work()
    return (time.perf_counter() - started) / n


def us(secs: float) -> str:
    return f"{secs * 1e6:.1f} µs"


def log_line_cost(rows: list[tuple[str, str]]) -> None:
    out = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.setup("INFO", "json", stream=out)
    log = logs.get_logger("bench")
    try:
        ours = per_call(N, lambda: log.info("execution finished", **FIELDS))
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    bare = per_call(N, lambda: out.write(json.dumps({"event": "x", **FIELDS}) + "\n"))
    rows.append(
        (
            "one JSON log line (structlog chain + masking) vs json.dumps of the same fields",
            f"{us(ours)} vs {us(bare)} ({ours / bare:.0f}x); one line per trader execution",
        )
    )


async def broker_wrapper_cost(rows: list[tuple[str, str]]) -> None:
    paper = PaperBroker(Exchange(SystemClock(), accounts=1))
    account = (await paper.list_accounts())[0].account_id
    metrics = Metrics()

    def observe(broker: str, endpoint: str, outcome: str, secs: float) -> None:
        metrics.broker_call.labels(broker, endpoint, outcome).observe(secs)

    metered = MeteredBroker(paper, observe)
    bare = await per_call_async(N, lambda: paper.get_position(account, "MNQ1!"))
    wrapped = await per_call_async(N, lambda: metered.get_position(account, "MNQ1!"))
    rows.append(
        (
            "paper broker get_position: metered vs bare",
            f"{us(wrapped)} vs {us(bare)}: +{us(wrapped - bare)} a call "
            "(a real broker round trip is milliseconds)",
        )
    )


async def access_log_cost(rows: list[tuple[str, str]]) -> None:
    def app(with_log: bool) -> FastAPI:
        api = FastAPI()

        @api.get("/ping")
        async def ping() -> dict[str, str]:
            return {"ok": "yes"}

        if with_log:
            api.add_middleware(AccessLog)
        return api

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.setup("INFO", "json", stream=io.StringIO())
    try:
        results = []
        for with_log in (False, True):
            transport = httpx.ASGITransport(app=app(with_log))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                results.append(await per_call_async(N_REQUESTS, lambda: client.get("/ping")))
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    bare, logged = results
    rows.append(
        (
            "in-process request: with the access log + request id vs without",
            f"{us(logged)} vs {us(bare)} ({logged / bare:.2f}x)",
        )
    )


def metrics_render_cost(rows: list[tuple[str, str]]) -> None:
    metrics = Metrics()
    for endpoint in ("place_bracket", "get_position", "flatten", "list_accounts"):
        for outcome in ("ok", "rejected", "unknown", "failed"):
            metrics.broker_call.labels("tradovate", endpoint, outcome).observe(0.02)
    for status in ("accepted", "done", "failed", "expired", "rejected", "duplicate"):
        metrics.signals.labels(status).inc()
    metrics.webhook_ack.observe(0.004)
    size = len(metrics.render())
    render = per_call(200, metrics.render)
    rows.append(("one /metrics render (16 broker series)", f"{us(render)}, {size:,} bytes"))


def main() -> None:
    rows: list[tuple[str, str]] = []
    log_line_cost(rows)
    asyncio.run(broker_wrapper_cost(rows))
    asyncio.run(access_log_cost(rows))
    metrics_render_cost(rows)
    lines = [
        "",
        "In-process, one run; compare the ratios. `python -m bench.ops_bench`.",
        "",
        *table(rows),
    ]
    write_section("Operations overhead — logs, metrics, access log", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
