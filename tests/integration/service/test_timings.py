"""Every stage of a signal timed from its receipt: in the signal's detail (per signal and per
trader) and in jt_stage_seconds. The clock ticks 1 ms at every reading, so the stages of one
execution come out strictly in order."""

from __future__ import annotations

from datetime import datetime

import pytest

from justtrades.clock import FakeClock
from tests.helpers import eventually

from .conftest import Service
from .test_monitoring import scrape, value

EXECUTION_KEYS = ["lane_ms", "planned_ms", "first_order_sent_ms", "last_order_acknowledged_ms"]


class TickingClock(FakeClock):
    def now(self) -> datetime:
        self.advance(0.001)
        return super().now()


@pytest.fixture
def clock() -> FakeClock:
    return TickingClock()


async def test_each_stage_is_timed_from_receipt_in_order(service: Service) -> None:
    r = await service.fire({"action": "buy", "ticker": "MNQ1!"})
    signal = await eventually(lambda: service.finished(r.json()["signal_id"]))
    assert signal["status"] == "done"
    timings = signal["timings"]
    assert datetime.fromisoformat(timings["received_at"]) == datetime.fromisoformat(
        signal["received_at"]
    )
    assert 0 < timings["stored_ms"] < timings["queued_ms"]
    for execution in signal["executions"]:
        own = execution["timings"]
        assert list(own) == EXECUTION_KEYS or set(own) == set(EXECUTION_KEYS)
        stages = [own[key] for key in EXECUTION_KEYS]
        assert timings["queued_ms"] < stages[0] and stages == sorted(stages)
        assert len(set(stages)) == len(stages)  # each a later reading of the clock
    executions = [e["timings"] for e in signal["executions"]]
    assert timings["lane_ms"] == min(t["lane_ms"] for t in executions)
    assert timings["first_order_sent_ms"] == min(t["first_order_sent_ms"] for t in executions)
    last = max(t["last_order_acknowledged_ms"] for t in executions)
    assert timings["last_order_acknowledged_ms"] == last
    listed = (await service.http.get("/api/v1/signals")).json()[0]
    assert listed["timings"]["stored_ms"] == timings["stored_ms"]

    metrics = await scrape(service)
    stage = metrics["jt_stage_seconds"]
    count = "jt_stage_seconds_count"
    assert value(stage, count, stage="stored") == value(stage, count, stage="queued") == 1
    for key in EXECUTION_KEYS:
        assert value(stage, count, stage=key.removesuffix("_ms")) == 3  # once per trader
    assert value(stage, "jt_stage_seconds_sum", stage="last_order_acknowledged") == (
        pytest.approx(sum(t["last_order_acknowledged_ms"] for t in executions) / 1000)
    )
