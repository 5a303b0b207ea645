"""Timings of a signal, all counted from its receipt with the injected clock (the same that
stamped the arrival).

- `Stages`: the milliseconds since receipt at which a signal (stored, queued) or one of its
  executions (lane, planned, first_order_sent, last_order_acknowledged) reached each stage:
  stored with the record's own writes, shown in the signal's detail, and observed once each
  in jt_stage_seconds{stage} when the signal or execution is done.
- `FanOutTiming`: when each trader sent its first order request (the signal's first ->
  jt_signal_to_first_order_seconds; first to last trader's -> jt_fanout_skew_seconds)."""

from __future__ import annotations

from datetime import datetime

from justtrades.clock import Clock
from justtrades.metrics import Metrics

EXECUTION_STAGES = ("lane", "planned", "first_order_sent", "last_order_acknowledged")


class Stages:
    def __init__(self, clock: Clock, received_at: datetime) -> None:
        self.clock = clock
        self.received_at = received_at
        self.ms: dict[str, float] = {}  # "<stage>_ms" -> milliseconds since receipt

    def mark(self, stage: str, *, again: bool = False) -> None:
        """The stage is reached now (the first time only, unless `again`: the latest)."""
        key = f"{stage}_ms"
        if again or key not in self.ms:
            waited = (self.clock.now() - self.received_at).total_seconds()
            self.ms[key] = round(max(0.0, waited) * 1000, 3)

    def observe(self, metrics: Metrics) -> None:
        for key, ms in self.ms.items():
            metrics.stage.labels(key.removesuffix("_ms")).observe(ms / 1000)


class FanOutTiming:
    def __init__(self, clock: Clock, metrics: Metrics, received_at: datetime) -> None:
        self.clock = clock
        self.metrics = metrics
        self.received_at = received_at
        self.first_order: dict[int, float] = {}  # trader id -> monotonic time of its first order

    def order_sent(self, trader_id: int) -> None:
        """An order-changing request of this trader is about to go to its broker."""
        if trader_id in self.first_order:
            return
        if not self.first_order:
            waited = (self.clock.now() - self.received_at).total_seconds()
            self.metrics.signal_to_first_order.observe(max(0.0, waited))
        self.first_order[trader_id] = self.clock.monotonic()

    def finished(self) -> None:
        """Every trader is done: the skew, when two or more of them sent an order."""
        if len(self.first_order) >= 2:
            times = self.first_order.values()
            self.metrics.fanout_skew.observe(max(times) - min(times))


def age_secs(received_at: datetime, now: datetime) -> float:
    return (now - received_at).total_seconds()


def past_age(
    received_at: datetime, now: datetime, max_age_secs: float, wait_secs: float = 0.0
) -> float | None:
    """The age a signal would have after waiting `wait_secs`, when that is past its maximum
    age (it must then be expired, not traded); None while it is young enough."""
    age = age_secs(received_at, now) + wait_secs
    return age if age > max_age_secs else None
