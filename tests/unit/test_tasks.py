"""The supervisor: restart with backoff on the injected clock, stop cleanly, report states."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from structlog.testing import capture_logs

from justtrades.clock import FakeClock
from justtrades.tasks import Supervisor


def supervisor(clock: FakeClock, **kwargs: Any) -> Supervisor:
    options: dict[str, Any] = {"backoff_jitter": 0.0, "stop_timeout_secs": 1.0}
    return Supervisor(clock, **{**options, **kwargs})


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {state: n for state, n in counts.items() if n}


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


class Flaky:
    """Crashes `crashes` times, then runs until cancelled."""

    def __init__(self, crashes: int, clock: FakeClock | None = None, lasts: float = 0) -> None:
        self.crashes = crashes
        self.runs = 0
        self.clock = clock
        self.lasts = lasts
        self.forever = asyncio.Event()

    async def __call__(self) -> None:
        self.runs += 1
        if self.clock is not None and self.lasts:
            self.clock.advance(self.lasts)
        if self.runs <= self.crashes:
            raise RuntimeError(f"crash {self.runs}")
        await self.forever.wait()


async def test_a_crashed_task_is_logged_and_restarted_with_doubling_backoff(
    clock: FakeClock,
) -> None:
    tasks = supervisor(clock, backoff_initial_secs=0.5, backoff_max_secs=3)
    work = Flaky(crashes=5)
    with capture_logs() as logged:
        tasks.start("worker", work)
        await settle()
    state = tasks.state("worker")
    assert state is not None and state.state == "running" and state.restarts == 5
    assert work.runs == 6
    assert clock.sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]  # doubling, capped
    assert state.last_error == "RuntimeError: crash 5"
    crashes = [e for e in logged if e["event"] == "task crashed; restarting"]
    assert [e["restarts"] for e in crashes] == [1, 2, 3, 4, 5]
    assert all(e["task"] == "worker" and e["log_level"] == "error" for e in crashes)
    assert all(e.get("exc_info") for e in crashes)  # the traceback goes with it
    await tasks.stop()
    assert state.state == "stopped"


async def test_the_backoff_starts_again_after_a_healthy_run(clock: FakeClock) -> None:
    tasks = supervisor(clock, backoff_initial_secs=1, healthy_after_secs=60)
    runs = 0

    async def work() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            clock.advance(61)  # this run was healthy for a minute before it failed
        if runs <= 4:
            raise RuntimeError("again")
        await asyncio.Event().wait()

    tasks.start("worker", work)
    await settle()
    assert clock.sleeps == [1, 2, 1, 2]
    await tasks.stop()


async def test_jitter_stretches_each_wait_within_its_bound(clock: FakeClock) -> None:
    tasks = Supervisor(clock, backoff_initial_secs=1, backoff_jitter=0.5)
    tasks.start("worker", Flaky(crashes=3))
    await settle()
    assert len(clock.sleeps) == 3
    for base, slept in zip([1, 2, 4], clock.sleeps, strict=True):
        assert base <= slept <= base * 1.5
    await tasks.stop()


async def test_a_task_that_returns_has_finished_and_is_not_restarted(clock: FakeClock) -> None:
    tasks = supervisor(clock)
    runs = 0

    async def once() -> None:
        nonlocal runs
        runs += 1

    tasks.start("once", once)
    await settle()
    state = tasks.state("once")
    assert state is not None and state.state == "finished" and runs == 1
    assert tasks.healthy and nonzero(tasks.counts()) == {"finished": 1}
    assert tasks.counts()["restarting"] == 0  # every state is named, 0 included


async def test_stop_cancels_running_and_waiting_tasks() -> None:
    class BlockingClock(FakeClock):
        async def sleep(self, secs: float) -> None:
            self.sleeps.append(secs)
            await asyncio.Event().wait()  # a backoff that never ends by itself

    clock = BlockingClock()
    tasks = supervisor(clock)
    running = Flaky(crashes=0)
    tasks.start("running", running)
    tasks.start("waiting", Flaky(crashes=1))
    await settle()
    assert nonzero(tasks.counts()) == {"running": 1, "restarting": 1}
    assert not tasks.healthy
    await tasks.stop()
    assert nonzero(tasks.counts()) == {"stopped": 2}
    assert all(s.state == "stopped" for s in tasks.states())


async def test_stop_is_bounded_when_a_task_ignores_cancellation(clock: FakeClock) -> None:
    tasks = supervisor(clock, stop_timeout_secs=0.05)
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue  # a bug: it swallows the cancellation

    tasks.start("stubborn", stubborn)
    await settle()
    with capture_logs() as logged:
        await asyncio.wait_for(tasks.stop(), timeout=2)
    assert any(e["event"] == "task did not stop in time" for e in logged)
    release.set()


async def test_the_same_name_cannot_run_twice(clock: FakeClock) -> None:
    tasks = supervisor(clock)
    tasks.start("worker", Flaky(crashes=0))
    with pytest.raises(ValueError, match="already running"):
        tasks.start("worker", Flaky(crashes=0))
    await tasks.stop_task("worker")
    state = tasks.state("worker")
    assert state is not None and state.state == "stopped"
    tasks.start("worker", Flaky(crashes=0))  # a stopped task may be started again
    await settle()
    assert nonzero(tasks.counts()) == {"running": 1}
    await tasks.stop()


async def test_spawned_work_is_held_its_failure_logged_and_drained(clock: FakeClock) -> None:
    tasks = supervisor(clock, drain_timeout_secs=0.05)
    finished = asyncio.Event()

    async def short() -> None:
        await asyncio.sleep(0)
        finished.set()

    async def broken() -> None:
        raise RuntimeError("bad signal")

    async def stuck() -> None:
        await asyncio.Event().wait()

    with capture_logs() as logged:
        tasks.spawn("short", short())
        tasks.spawn("broken", broken())
        hung = tasks.spawn("stuck", stuck())
        assert tasks.spawned == 3
        await settle()
        await tasks.stop()
    assert finished.is_set() and hung.cancelled() and tasks.spawned == 0
    [failure] = [e for e in logged if e["event"] == "background work failed"]
    assert failure["task"] == "broken" and isinstance(failure["exc_info"], RuntimeError)
    assert any(e["event"] == "work still running at shutdown: cancelled" for e in logged)


async def test_states_tell_public_tasks_from_tenant_ones(clock: FakeClock) -> None:
    tasks = supervisor(clock)
    tasks.start("signal-dispatcher", Flaky(crashes=0))
    tasks.start("stream-connection-12", Flaky(crashes=0), public=False)
    await settle()
    public = [s.summary() for s in tasks.states() if s.public]
    assert public == [{"name": "signal-dispatcher", "state": "running", "restarts": 0}]
    detail = {s.name: s.detail() for s in tasks.states()}
    assert detail["stream-connection-12"]["started_at"] == clock.now().isoformat()
    await tasks.stop()


async def test_a_cancellation_from_inside_the_task_is_a_crash_not_a_stop(
    clock: FakeClock,
) -> None:
    tasks = supervisor(clock)
    runs = 0

    async def cancels_itself() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise asyncio.CancelledError  # e.g. a library's timeout leaking out
        await asyncio.Event().wait()

    tasks.start("worker", cancels_itself)
    await settle()
    state = tasks.state("worker")
    assert state is not None and state.state == "running" and state.restarts == 1
    assert state.last_error is not None and "CancelledError" in state.last_error
    await tasks.stop()


async def test_a_failing_supervisor_is_logged_and_shown_as_crashed() -> None:
    class BrokenClock(FakeClock):
        async def sleep(self, secs: float) -> None:
            raise RuntimeError("clock broke")

    tasks = supervisor(BrokenClock())
    with capture_logs() as logged:
        tasks.start("worker", Flaky(crashes=1))
        await settle()
    state = tasks.state("worker")
    assert state is not None and state.state == "crashed" and not tasks.healthy
    assert any(e["event"] == "supervisor of a task failed" for e in logged)


async def test_stop_drains_spawned_work_before_the_tasks_it_may_need(clock: FakeClock) -> None:
    tasks = supervisor(clock)
    tasks.start("stream", Flaky(crashes=0))
    seen: list[str | None] = []

    async def order_work() -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        state = tasks.state("stream")
        seen.append(state.state if state else None)

    tasks.spawn("signal-1", order_work())
    await tasks.stop()
    assert seen == ["running"]  # the stream was still up while the work finished
    state = tasks.state("stream")
    assert state is not None and state.state == "stopped"
