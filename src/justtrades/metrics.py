"""Prometheus metrics: one registry owned by the app (never the library's global one, so two apps
in one process, as in the tests, never share a count).

Every metric is observed where its work happens: the webhook route times its own answer, the
broker wrapper times each call, the engine counts a signal when it sets its status. Labels never
name a tenant: no user, strategy, connection or account appears in /metrics (per-tenant detail
is on /status for admins).

    jt_webhook_ack_seconds                      request in -> answer out, what TradingView waits
    jt_webhook_requests_total{code}             webhook answers by HTTP status
    jt_signal_to_first_order_seconds            signal received -> its first order request sent
    jt_fanout_skew_seconds                      first -> last account's first order, one signal
    jt_broker_call_seconds{broker,endpoint,outcome}   each broker call (ok|rejected|unknown|failed)
    jt_stage_seconds{stage}                     signal received -> each stage it reached
    jt_signals_total{status}                    accepted, rejected, duplicate, ignored, done, ...
    jt_signal_queue_depth, jt_signals_running, jt_tasks{state}   read at scrape time
    process_*, python_gc_*, python_info         the standard process metrics
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Seconds. The webhook answers in milliseconds; a broker round trip is tens of milliseconds
# and may take up to the broker timeout (10 s by default); skew and first order in between.
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
FIRST_ORDER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BROKER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SKEW_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Live(Collector):
    """Gauges read from the running service at scrape time (never stale)."""

    def __init__(self) -> None:
        self.queue_depth: Callable[[], int] = lambda: 0
        self.signals_running: Callable[[], int] = lambda: 0
        self.task_states: Callable[[], Mapping[str, int]] = dict

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "jt_signal_queue_depth", "Signals accepted and waiting for dispatch", self.queue_depth()
        )
        yield GaugeMetricFamily(
            "jt_signals_running", "Signals whose traders are executing", self.signals_running()
        )
        tasks = GaugeMetricFamily(
            "jt_tasks", "Supervised background tasks by state", labels=["state"]
        )
        for state, count in sorted(self.task_states().items()):
            tasks.add_metric([state], count)
        yield tasks


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.webhook_ack = Histogram(
            "jt_webhook_ack_seconds",
            "Webhook request received to answer sent",
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        self.webhook_requests = Counter(
            "jt_webhook_requests", "Webhook answers by HTTP status", ["code"], registry=registry
        )
        self.signal_to_first_order = Histogram(
            "jt_signal_to_first_order_seconds",
            "Signal received to its first order request sent to a broker",
            buckets=FIRST_ORDER_BUCKETS,
            registry=registry,
        )
        self.fanout_skew = Histogram(
            "jt_fanout_skew_seconds",
            "First to last account's first order request of one signal (two accounts or more)",
            buckets=SKEW_BUCKETS,
            registry=registry,
        )
        self.broker_call = Histogram(
            "jt_broker_call_seconds",
            "Broker calls by broker, contract endpoint and outcome",
            ["broker", "endpoint", "outcome"],
            buckets=BROKER_BUCKETS,
            registry=registry,
        )
        self.stage = Histogram(
            "jt_stage_seconds",
            "Signal received to each stage: stored, queued, lane, planned, first_order_sent, "
            "last_order_acknowledged (once per signal or per trader)",
            ["stage"],
            buckets=FIRST_ORDER_BUCKETS,
            registry=registry,
        )
        self.signals = Counter(
            "jt_signals", "Signals by the status they reached", ["status"], registry=registry
        )
        self.live = _Live()
        registry.register(self.live)

    def render(self) -> bytes:
        return generate_latest(self.registry)
