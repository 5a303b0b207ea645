"""One stream connection per access token, kept alive with every protection of SPEC §8.

`StreamConnection.run()` (a supervised task) connects its socket through the process's
`ConnectGate`, sends one `user/syncrequest` per socket (`splitResponses: true`), hands the
snapshot and every event to its listeners, and when the socket ends waits as `Backoff` says
before connecting again:
- boot stagger: a random wait of 0 to BOOT_STAGGER_SECS before the first connect, so a restart
  with many tokens does not connect them all at once;
- connects across the process: at most 2 at a time, 3 s apart (`ConnectGate`);
- backoff 1 s doubling to 60 s with 0-10 % jitter, back to 1 s after a connection that lived
  HEALTHY_SECS; after a dead subscription at least 30 s plus 0-15 s jitter, never 1 s;
- a subscription that delivered no event for 10 windows of 30 s while the market is open is
  dead (`market_open`, by default CME Globex hours: sessions.globex_open; heartbeats flow at
  any hour, so the dead-socket rule of streams/socket.py holds always). Only for a
  connection that expects a steady flow (`expect_events`: market data with subscriptions):
  a user socket of a quiet account is quiet by nature and is not churned. After one, waits
  are 30-45 s until a connection delivers events again;
- events that arrive before the snapshot has been handed over are held and replayed after it,
  so a listener never applies an event and then an older snapshot over it.

Every wait is on the injectable clock and bounded; randomness comes from an injected
generator, so each rule has a fast deterministic test.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from justtrades.clock import Clock
from justtrades.logs import get_logger
from justtrades.sessions import globex_open
from justtrades.streams.socket import SocketError, TradovateSocket

log = get_logger("justtrades.streams")

BOOT_STAGGER_SECS = 30.0
CONNECTS_AT_ONCE = 2
CONNECT_SPACING_SECS = 3.0
HEALTHY_SECS = 60.0
SUBSCRIPTION_WINDOW_SECS = 30.0
DEAD_WINDOWS = 10
READY_TIMEOUT_SECS = 20.0


@dataclass
class Backoff:
    """How long to wait before the next connect (pure; `rng` injected)."""

    first_secs: float = 1.0
    cap_secs: float = 60.0
    jitter: float = 0.10
    dead_floor_secs: float = 30.0
    dead_jitter_secs: float = 15.0
    attempt: int = 0
    after_dead: bool = False

    def next(self, rng: random.Random) -> float:
        if self.after_dead:
            return self.dead_floor_secs + rng.uniform(0, self.dead_jitter_secs)
        base: float = min(self.cap_secs, self.first_secs * 2.0**self.attempt)
        self.attempt += 1
        return base * (1 + rng.uniform(0, self.jitter))

    def healthy(self) -> None:
        """A connection that lived long enough: the next failure starts again at 1 s, unless
        the last one was a dead subscription (never reset to 1 s after one)."""
        if not self.after_dead:
            self.attempt = 0

    def dead_subscription(self) -> None:
        self.after_dead = True

    def flowing(self) -> None:
        """Events arrive again after a dead subscription: normal backoff from now on."""
        self.after_dead = False
        self.attempt = 0


class ConnectGate:
    """Connect attempts across the process: at most `at_once` at a time, `spacing_secs`
    apart (each start waits for the previous start plus the spacing)."""

    def __init__(
        self,
        clock: Clock,
        at_once: int = CONNECTS_AT_ONCE,
        spacing_secs: float = CONNECT_SPACING_SECS,
    ) -> None:
        self.clock = clock
        self.spacing_secs = spacing_secs
        self._slots = asyncio.Semaphore(at_once)
        self._order = asyncio.Lock()
        self._last_start: float | None = None
        self.starts: list[float] = []  # clock.monotonic() of each start (for tests, status)

    async def __aenter__(self) -> None:
        await self._slots.acquire()
        try:
            async with self._order:
                if self._last_start is not None:
                    wait = self._last_start + self.spacing_secs - self.clock.monotonic()
                    if wait > 0:
                        await self.clock.sleep(wait)
                self._last_start = self.clock.monotonic()
                self.starts.append(self._last_start)
        except BaseException:
            self._slots.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._slots.release()


SyncListener = Callable[[dict[str, Any]], None]
EventListener = Callable[[dict[str, Any]], None]


class StreamConnection:
    def __init__(
        self,
        name: str,
        socket: Callable[[], TradovateSocket],
        sync_body: Callable[[], Awaitable[dict[str, Any]]],
        clock: Clock,
        gate: ConnectGate,
        rng: random.Random,
        *,
        boot_stagger_secs: float = BOOT_STAGGER_SECS,
        market_open: Callable[[], bool] | None = None,
        expect_events: bool = False,
    ) -> None:
        self.name = name
        self.make_socket = socket
        self.sync_body = sync_body  # {"users": [id]} or {"accounts": [...]}, asked each time
        self.clock = clock
        self.gate = gate
        self.rng = rng
        self.boot_stagger_secs = boot_stagger_secs
        # CME Globex hours on the injected clock unless told otherwise
        self.market_open = market_open or (lambda: globex_open(clock.now()))
        self.expect_events = expect_events
        self._held: list[dict[str, Any]] | None = None  # events before the snapshot is out
        self.backoff = Backoff()
        self.on_sync: list[SyncListener] = []
        self.on_event: list[EventListener] = []
        self.state = "starting"  # connecting, connected, waiting, stopped
        self.connects = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self.last_event_at: float | None = None
        self.socket: TradovateSocket | None = None
        self._task: asyncio.Task[None] | None = None  # the socket's run()

    @property
    def last_message_age_s(self) -> float | None:
        sock = self.socket
        if sock is None or sock.last_frame_at is None:
            return None
        return round(self.clock.monotonic() - sock.last_frame_at, 3)

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            self.state = "stopped"

    async def _run(self) -> None:
        await self.clock.sleep(self.rng.uniform(0, self.boot_stagger_secs))
        while True:
            lived = await self._one()
            if lived >= HEALTHY_SECS:
                self.backoff.healthy()
            delay = self.backoff.next(self.rng)
            self.state = "waiting"
            log.info(
                "stream reconnect scheduled",
                stream=self.name,
                wait_secs=round(delay, 3),
                error=self.last_error,
            )
            await self.clock.sleep(delay)
            self.reconnects += 1

    async def _one(self) -> float:
        """One socket's life; returns how long it was connected."""
        self.state = "connecting"
        sock = self.make_socket()
        self.socket = sock
        sock.listeners.append(self._event)
        try:
            return await self._live(sock)
        finally:  # stopped, or the socket over: never a socket left running
            if self._task is not None and not self._task.done():
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)

    async def _live(self, sock: TradovateSocket) -> float:
        started: float | None = None
        self._held = []  # from the first frame on, until the snapshot is handed over
        async with self.gate:
            task = self._task = asyncio.create_task(sock.run(), name=f"stream-{self.name}")
            ready = asyncio.create_task(sock.ready.wait())
            try:
                async with asyncio.timeout(READY_TIMEOUT_SECS):
                    await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
            except TimeoutError:
                self.last_error = f"not ready within {READY_TIMEOUT_SECS:g} s"
            finally:
                ready.cancel()
        try:
            if not sock.ready.is_set():
                if not task.done():
                    task.cancel()
                await self._ended(task)
                return 0.0
            self.connects += 1
            started = self.clock.monotonic()
            self.state = "connected"
            try:
                body = {**(await self.sync_body()), "splitResponses": True}
            except Exception as e:
                raise SocketError(f"no sync request: {type(e).__name__}: {e}") from e
            status, snapshot = await sock.request("user/syncrequest", body)
            if status != 200 or not isinstance(snapshot, dict):
                raise SocketError(f"user/syncrequest answered {status}: {snapshot!r:.200}")
            self.last_event_at = self.clock.monotonic()
            for listener in self.on_sync:
                self._safely(listener, snapshot)
            held, self._held = self._held, None
            for message in held:  # what came while the snapshot was on its way
                self._deliver(message)
            watch = asyncio.create_task(self._watch_subscription(task))
            try:
                await self._ended(task)
            finally:
                watch.cancel()
        except SocketError as e:
            self.last_error = str(e)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        finally:
            self._held = None
        return self.clock.monotonic() - started if started is not None else 0.0

    async def _ended(self, task: asyncio.Task[None]) -> None:
        try:
            await task
        except SocketError as e:
            self.last_error = str(e)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this connection is being stopped
            self.last_error = self.last_error or "cancelled"  # the socket was (a dead subscription)

    async def _watch_subscription(self, task: asyncio.Task[None]) -> None:
        """Dead subscription: no event for DEAD_WINDOWS windows while the market is open."""
        if not self.expect_events:
            return
        quiet = 0
        while True:
            await self.clock.sleep(SUBSCRIPTION_WINDOW_SECS)
            last = self.last_event_at or 0.0
            if self.clock.monotonic() - last < SUBSCRIPTION_WINDOW_SECS or not self.market_open():
                quiet = 0
                continue
            quiet += 1
            if quiet >= DEAD_WINDOWS:
                self.last_error = (
                    f"dead subscription: no event for {DEAD_WINDOWS} windows of "
                    f"{SUBSCRIPTION_WINDOW_SECS:g} s while the market is open"
                )
                self.backoff.dead_subscription()
                task.cancel()
                return

    def _event(self, message: dict[str, Any]) -> None:
        self.last_event_at = self.clock.monotonic()
        if self.backoff.after_dead:
            self.backoff.flowing()
        if self._held is not None:
            self._held.append(message)
            return
        self._deliver(message)

    def _deliver(self, message: dict[str, Any]) -> None:
        for listener in self.on_event:
            self._safely(listener, message)

    def _safely(self, listener: Callable[[dict[str, Any]], None], message: Any) -> None:
        try:
            listener(message)
        except Exception:
            log.exception("stream listener failed", stream=self.name)
