"""The timing of one signal's fan-out: when each trader sent its first order request.

Observed as it happens (the first order of the signal -> jt_signal_to_first_order_seconds; once
every trader is done, first to last trader's first order -> jt_fanout_skew_seconds), with the
injected clock, the same that stamped the signal's arrival."""

from __future__ import annotations

from datetime import datetime

from justtrades.clock import Clock
from justtrades.metrics import Metrics


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
