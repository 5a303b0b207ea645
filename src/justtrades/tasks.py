"""The supervisor of the service's background tasks: one way to run, watch, restart and stop
them, started and stopped by the app's lifespan.

- `start(name, run)`: a long-running task (the signal dispatcher, later the streams and the
  monitors). If it raises, the failure is logged with its traceback and the task is started
  again after a backoff (doubling from `backoff_initial_secs` up to `backoff_max_secs`, with
  jitter; back to the start once it has run `healthy_after_secs`). A task that returns has
  finished and is not restarted. Every wait uses the injected clock.
- `spawn(name, coroutine)`: short work started on behalf of a long-running one (one signal's
  traders). Held until done, its failure logged, drained on stop.
- `stop()`: lets spawned work finish for at most `drain_timeout_secs` (cancelling what is
  left), then cancels the long-running tasks, the last started first (a stream an order may
  depend on outlives the work that uses it). Every wait is bounded.
- `states()`: each task's state, restarts and last error, for /status and /metrics.

States: running -> (it raised) restarting -> running ...; finished (it returned); stopped
(by `stop`/`stop_task`); crashed (the supervisor itself failed: logged, never silent).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from justtrades.clock import Clock
from justtrades.logs import get_logger, scrub

__all__ = ["Supervisor", "TaskState"]

log = get_logger("justtrades.tasks")

RUNNING, RESTARTING, FINISHED, STOPPED, CRASHED = (
    "running",
    "restarting",
    "finished",
    "stopped",
    "crashed",
)
STATES = (RUNNING, RESTARTING, FINISHED, STOPPED, CRASHED)
ERROR_TEXT_MAX = 500


@dataclass
class TaskState:
    name: str
    public: bool  # False: named after a tenant (a connection...): its name is for admins only
    state: str = RUNNING
    restarts: int = 0
    started_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    retry_in_secs: float | None = None

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "restarts": self.restarts}

    def detail(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "retry_in_secs": self.retry_in_secs,
        }


@dataclass
class _Supervised:
    state: TaskState
    run: Callable[[], Awaitable[None]]
    task: asyncio.Task[None] | None = None
    backoff_secs: float = 0.0


@dataclass
class Supervisor:
    clock: Clock
    backoff_initial_secs: float = 0.5
    backoff_max_secs: float = 30.0
    backoff_jitter: float = 0.2  # each wait is stretched by up to this fraction, at random
    healthy_after_secs: float = 60.0
    stop_timeout_secs: float = 5.0
    drain_timeout_secs: float = 10.0
    rng: random.Random = field(default_factory=random.Random)
    _tasks: dict[str, _Supervised] = field(default_factory=dict)
    _spawned: set[asyncio.Task[Any]] = field(default_factory=set)

    # --- long-running tasks --------------------------------------------------------------------

    def start(self, name: str, run: Callable[[], Awaitable[None]], *, public: bool = True) -> None:
        """Run `run()` as the task `name`, restarted whenever it raises."""
        held = self._tasks.get(name)
        if held is not None and held.task is not None and not held.task.done():
            raise ValueError(f"task {name!r} is already running")
        sup = _Supervised(TaskState(name, public), run, backoff_secs=self.backoff_initial_secs)
        self._tasks[name] = sup
        sup.task = asyncio.create_task(self._supervise(sup), name=name)
        sup.task.add_done_callback(lambda task: self._supervisor_done(sup, task))

    def _supervisor_done(self, sup: _Supervised, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        sup.state.state = CRASHED
        sup.state.last_error = f"supervisor: {type(task.exception()).__name__}"
        log.critical("supervisor of a task failed", task=sup.state.name, exc_info=task.exception())

    async def _supervise(self, sup: _Supervised) -> None:
        state = sup.state
        while True:
            state.state, state.retry_in_secs = RUNNING, None
            state.started_at = self.clock.now()
            began = self.clock.monotonic()
            try:
                await sup.run()
            except asyncio.CancelledError as e:
                this = asyncio.current_task()
                if this is not None and this.cancelling():
                    state.state = STOPPED  # we were told to stop
                    raise
                error: BaseException = e  # a cancellation from inside the task: a crash
            except Exception as e:
                error = e
            else:
                state.state = FINISHED
                log.info("task finished", task=state.name)
                return
            if self.clock.monotonic() - began >= self.healthy_after_secs:
                sup.backoff_secs = self.backoff_initial_secs
            wait = sup.backoff_secs * (1 + self.backoff_jitter * self.rng.random())
            state.restarts += 1
            state.state, state.retry_in_secs = RESTARTING, round(wait, 3)
            state.last_error = scrub(f"{type(error).__name__}: {error}")[:ERROR_TEXT_MAX]
            state.last_error_at = self.clock.now()
            log.error(
                "task crashed; restarting",
                task=state.name,
                restarts=state.restarts,
                retry_in_secs=state.retry_in_secs,
                exc_info=error,
            )
            sup.backoff_secs = min(sup.backoff_secs * 2, self.backoff_max_secs)
            try:
                await self.clock.sleep(wait)
            except asyncio.CancelledError:
                state.state = STOPPED
                raise

    async def stop_task(self, name: str) -> None:
        """Stop one long-running task (bounded by `stop_timeout_secs`)."""
        sup = self._tasks.get(name)
        if sup is not None and sup.task is not None:
            await self._cancel([sup.task])
            if sup.state.state in (RUNNING, RESTARTING):
                sup.state.state = STOPPED

    # --- short work ------------------------------------------------------------------------------

    def spawn(self, name: str, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `work` in the background, held until it is done; a failure is logged."""
        task = asyncio.create_task(work, name=name)
        self._spawned.add(task)
        task.add_done_callback(self._spawned_done)
        return task

    def _spawned_done(self, task: asyncio.Task[Any]) -> None:
        self._spawned.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background work failed", task=task.get_name(), exc_info=error)

    @property
    def spawned(self) -> int:
        return len(self._spawned)

    async def drain(self, timeout_secs: float | None = None) -> None:
        """Let spawned work finish (bounded), then cancel what is left."""
        pending = set(self._spawned)
        if not pending:
            return
        timeout = self.drain_timeout_secs if timeout_secs is None else timeout_secs
        _, late = await asyncio.wait(pending, timeout=timeout)
        if late:
            log.warning("work still running at shutdown: cancelled", tasks=len(late))
            await self._cancel(list(late))

    # --- the whole --------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Drain the spawned work, then stop the long-running tasks, last started first."""
        await self.drain()
        for sup in reversed(list(self._tasks.values())):
            if sup.task is not None:
                await self._cancel([sup.task])
            if sup.state.state in (RUNNING, RESTARTING):
                sup.state.state = STOPPED

    async def _cancel(self, tasks: list[asyncio.Task[Any]]) -> None:
        live = [t for t in tasks if not t.done()]
        for task in live:
            task.cancel()
        if not live:
            return
        _, stuck = await asyncio.wait(live, timeout=self.stop_timeout_secs)
        for task in stuck:
            log.error("task did not stop in time", task=task.get_name())

    # --- reading ----------------------------------------------------------------------------------

    def state(self, name: str) -> TaskState | None:
        sup = self._tasks.get(name)
        return sup.state if sup is not None else None

    def states(self) -> list[TaskState]:
        return [s.state for s in self._tasks.values()]

    def counts(self) -> dict[str, int]:
        """Tasks by state, every state named (0 included)."""
        found = Counter(s.state for s in self.states())
        return {state: found.get(state, 0) for state in STATES}

    @property
    def healthy(self) -> bool:
        """Every long-running task is running (none restarting, stopped or missing)."""
        return all(s.state in (RUNNING, FINISHED) for s in self.states())
