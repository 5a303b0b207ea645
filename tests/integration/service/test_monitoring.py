"""/metrics, /status and the supervised dispatcher, on the running service (both backends)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from justtrades.admin import create_api_key, create_user
from justtrades.app import Services
from justtrades.clock import FakeClock
from justtrades.metrics import ACK_BUCKETS
from justtrades.models import BrokerCall, Execution
from justtrades.sim.runner import SimServer
from tests.helpers import eventually

from .conftest import Service, start_service

# Every label our metrics and the standard collectors use: none names a tenant.
ALLOWED_LABELS = {"broker", "endpoint", "outcome", "status", "code", "state", "stage", "le"}
ALLOWED_LABELS |= {"implementation", "major", "minor", "patchlevel", "version", "generation"}


def services_of(service: Service) -> Services:
    assert service.server is not None
    svc: Services = service.server.app.state.services
    return svc


async def scrape(service: Service, **headers: str) -> dict[str, list[Sample]]:
    async with httpx.AsyncClient(base_url=service.base_url) as anonymous:
        r = await anonymous.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    families = text_string_to_metric_families(r.text)
    return {f.name: f.samples for f in families}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    return sum(found)


def labels_of(metrics: dict[str, list[Sample]]) -> Iterator[str]:
    for samples in metrics.values():
        for sample in samples:
            yield from sample.labels


async def admin_key(service: Service, clock: FakeClock) -> str:
    svc = services_of(service)
    async with svc.sessions() as s:
        user = await create_user(s, clock, "ops@example.com", "an-admin-password", admin=True)
        key = await create_api_key(s, clock, user, "ops")
        await s.commit()
    return key


async def test_metrics_after_a_webhook_and_a_trade(service: Service) -> None:
    r = await service.fire({"action": "buy", "ticker": "MNQ1!"})
    signal = await eventually(lambda: service.finished(r.json()["signal_id"]))
    assert signal["status"] == "done"
    await service.http.post("/webhook/not-a-real-token-at-all", content=b"buy")  # a 404
    metrics = await scrape(service)

    ack = metrics["jt_webhook_ack_seconds"]
    assert value(ack, "jt_webhook_ack_seconds_count") == 2
    bounds = [s.labels["le"] for s in ack if s.name == "jt_webhook_ack_seconds_bucket"]
    assert bounds == [*(str(float(b)) for b in ACK_BUCKETS), "+Inf"]  # explicit buckets
    requests = metrics["jt_webhook_requests"]
    assert value(requests, "jt_webhook_requests_total", code="200") == 1
    assert value(requests, "jt_webhook_requests_total", code="404") == 1

    first = metrics["jt_signal_to_first_order_seconds"]
    assert value(first, "jt_signal_to_first_order_seconds_count") == 1
    skew = metrics["jt_fanout_skew_seconds"]
    assert value(skew, "jt_fanout_skew_seconds_count") == 1  # 3 accounts: one skew
    calls = metrics["jt_broker_call_seconds"]
    count = "jt_broker_call_seconds_count"
    assert value(calls, count, broker="tradovate", endpoint="place_bracket", outcome="ok") == 3
    assert value(calls, count, broker="tradovate", endpoint="get_position", outcome="ok") >= 3
    assert value(calls, count, endpoint="list_accounts", outcome="ok") == 1  # the linking
    signals = metrics["jt_signals"]
    assert value(signals, "jt_signals_total", status="accepted") == 1
    assert value(signals, "jt_signals_total", status="done") == 1

    assert value(metrics["jt_signal_queue_depth"], "jt_signal_queue_depth") == 0
    assert value(metrics["jt_tasks"], "jt_tasks", state="running") == 3  # dispatcher, ...
    assert "process_cpu_seconds" in metrics and "process_resident_memory_bytes" in metrics
    assert "python_info" in metrics and "python_gc_collections" in metrics


async def test_metrics_hold_no_tenant_identity(service: Service) -> None:
    r = await service.fire({"action": "buy", "ticker": "MNQ1!"})
    await eventually(lambda: service.finished(r.json()["signal_id"]))
    metrics = await scrape(service)
    assert set(labels_of(metrics)) <= ALLOWED_LABELS
    async with httpx.AsyncClient(base_url=service.base_url) as anonymous:
        text = (await anonymous.get("/metrics")).text
    token = service.webhook.rsplit("/", 1)[-1]
    for identity in [token, service.strategy["name"], "trader@example.com", "sim"]:
        assert f'"{identity}"' not in text and token not in text
    for account in service.accounts:
        assert f'"{account["broker_account_id"]}"' not in text


async def test_a_rejected_order_is_counted_by_its_outcome(service: Service, sim: SimServer) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as control:
        await control.post("/_sim/faults", json={"reject_reason": "MaxPosLimitReached"})
    r = await service.fire({"action": "buy", "ticker": "MNQ1!"})
    signal = await eventually(lambda: service.finished(r.json()["signal_id"]))
    assert signal["status"] == "failed"
    metrics = await scrape(service)
    calls = metrics["jt_broker_call_seconds"]
    count = "jt_broker_call_seconds_count"
    assert value(calls, count, endpoint="place_bracket", outcome="rejected") == 3
    assert value(calls, count, endpoint="place_bracket", outcome="ok") == 0
    assert value(metrics["jt_signals"], "jt_signals_total", status="failed") == 1
    assert (
        value(metrics["jt_signal_to_first_order_seconds"], "jt_signal_to_first_order_seconds_count")
        == 1
    )


async def test_metrics_need_the_token_when_one_is_set(database_url: str, clock: FakeClock) -> None:
    server, _ = await start_service(database_url, clock, metrics_token="scrape-token-123")
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            missing = await http.get("/metrics")
            wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
            right = await http.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
        assert missing.status_code == wrong.status_code == 401
        assert "JT_METRICS_TOKEN" in missing.json()["error"]
        assert right.status_code == 200 and "jt_webhook_ack_seconds" in right.text
    finally:
        await server.stop()


PUBLIC_KEYS = {"status", "version", "database", "queue_depth", "workers", "tasks"}


async def test_status_without_a_key_shows_component_health_only(service: Service) -> None:
    r = await service.fire({"action": "buy", "ticker": "MNQ1!"})
    await eventually(lambda: service.finished(r.json()["signal_id"]))
    async with httpx.AsyncClient(base_url=service.base_url) as anonymous:
        answer = await anonymous.get("/status")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    assert set(body) == PUBLIC_KEYS
    assert body["workers"]["dispatcher"] == "running" and body["workers"]["accepting_signals"]
    assert body["tasks"]["list"] == [
        {"name": "db-writer", "state": "running", "restarts": 0},
        {"name": "outcome-settler", "state": "running", "restarts": 0},
        {"name": "signal-dispatcher", "state": "running", "restarts": 0},
    ]
    text = answer.text
    token = service.webhook.rsplit("/", 1)[-1]
    for secret in [token, service.strategy["name"], "trader@example.com", "last_signal"]:
        assert secret not in text
    assert "signals" not in body and "strategies_cached" not in body


async def test_status_detail_needs_an_admin_key(service: Service, clock: FakeClock) -> None:
    async with httpx.AsyncClient(base_url=service.base_url) as anonymous:
        bad = await anonymous.get("/status", headers={"Authorization": "Bearer jt_unknown_key"})
    assert bad.status_code == 401
    not_admin = await service.http.get("/status")  # the trader's own key
    assert not_admin.status_code == 403 and "admin" in not_admin.json()["detail"]


async def test_status_detail_for_an_admin(service: Service, clock: FakeClock) -> None:
    r = await service.fire({"action": "buy", "ticker": "MNQ1!"})
    signal = await eventually(lambda: service.finished(r.json()["signal_id"]))
    svc = services_of(service)
    async with svc.sessions() as s:  # an order whose fate is not known
        execution = Execution(signal_id=signal["id"], status="failed", error="timed out")
        s.add(execution)
        await s.flush()
        assert execution.id is not None
        s.add(
            BrokerCall(
                execution_id=execution.id,
                seq=1,
                endpoint="place_bracket",
                client_order_id="jt-x-1",
                outcome="unknown",
                error="ReadTimeout",
            )
        )
        await s.commit()
    key = await admin_key(service, clock)
    async with httpx.AsyncClient(base_url=service.base_url) as http:
        answer = await http.get("/status", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    detail = answer.json()["detail"]
    [strategy] = detail["strategies"]
    assert strategy["name"] == service.strategy["name"]
    assert strategy["signals_24h"] == {"done": 1} and strategy["last_signal_at"]
    [connection] = detail["connections"]
    assert connection["session"]["authenticated"] is True
    assert connection["session"]["token_expires_at"]
    unresolved = detail["unresolved_outcomes"]
    assert unresolved["count"] == 1
    assert unresolved["recent"][0]["client_order_id"] == "jt-x-1"
    assert unresolved["recent"][0]["signal_id"] == signal["id"]
    assert [f["error"] for f in detail["recent_failures"]] == ["timed out"]
    assert [(t["name"], t["last_error"]) for t in detail["tasks"]] == [
        ("db-writer", None),
        ("outcome-settler", None),
        ("signal-dispatcher", None),
    ]
    assert "password" not in answer.text and "credentials" not in answer.text


async def test_a_crashed_dispatcher_accepts_while_restarting_and_trades_after(
    service: Service, clock: FakeClock
) -> None:
    svc = services_of(service)
    queue, engine = svc.engine.queue, svc.engine
    real_get = queue.get
    crashes = 0

    async def get_once_broken() -> Any:
        nonlocal crashes
        if crashes == 0:
            crashes += 1
            raise RuntimeError("queue broke")
        return await real_get()

    class HeldBackoff(FakeClock):
        """The backoff waits until the test lets it go."""

        def __init__(self) -> None:
            super().__init__()
            self.release = asyncio.Event()

        async def sleep(self, secs: float) -> None:
            self.sleeps.append(secs)
            await self.release.wait()

    held = HeldBackoff()
    svc.tasks.clock = held
    queue.get = get_once_broken  # type: ignore[method-assign]
    await svc.tasks.stop_task("signal-dispatcher")  # a fresh loop meets the broken queue
    svc.tasks.start("signal-dispatcher", engine.dispatcher.run)

    async def restarting() -> bool:
        return engine.dispatcher_state == "restarting"

    await eventually(restarting)
    async with httpx.AsyncClient(base_url=service.base_url) as anonymous:
        degraded = await anonymous.get("/status")
    assert degraded.status_code == 503
    assert degraded.json()["workers"]["accepting_signals"] is True
    assert degraded.json()["tasks"]["list"][2] == {
        "name": "signal-dispatcher",
        "state": "restarting",
        "restarts": 1,
    }
    fired = await service.fire({"action": "buy", "ticker": "MNQ1!"})  # while restarting
    assert fired.status_code == 200 and fired.json()["status"] == "accepted"
    assert (await service.signal(fired.json()["signal_id"]))["status"] == "accepted"
    held.release.set()
    done = await eventually(lambda: service.finished(fired.json()["signal_id"]))
    assert done["status"] == "done"
    assert 0.5 <= held.sleeps[0] <= 0.6  # the first backoff
    async with httpx.AsyncClient(base_url=service.base_url) as anonymous:
        status = await anonymous.get("/status")
    assert status.status_code == 200 and status.json()["tasks"]["list"][2]["restarts"] == 1
    metrics = await scrape(service)
    assert value(metrics["jt_tasks"], "jt_tasks", state="restarting") == 0  # named, not gone
