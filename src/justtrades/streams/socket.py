"""One Tradovate WebSocket, user or market data (reference/tradovate.md §8; SPEC §8).

`TradovateSocket.run()` is one connection's life: connect, wait for `o`, `authorize`, then read
frames until the socket ends, raising why (`SocketClosed`, `SocketDead`, `ShutdownNotice`,
`AuthFailed`). While it runs: the client heartbeat `[]` every HEARTBEAT_SECS; a socket without
a server frame for DEAD_AFTER_SECS is dead (the server sends `h` every 2.5 s, market open or
not); each frame is parsed once and its events handed to every listener, a failing listener
logged and isolated; `request()` sends `endpoint\\nid\\nquery\\nbody` and waits (bounded) for its
answer. Messages up to MAX_MESSAGE_BYTES (16 MB; SPEC's floor is 10 MB: a full sync of a big
account is one frame).

Time (heartbeat, dead socket) comes from the injectable clock; reconnecting is the connection
manager's business, not this class's. Orders are never sent over the socket (SPEC §8).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from justtrades.clock import Clock
from justtrades.logs import get_logger

log = get_logger("justtrades.streams.socket")

HEARTBEAT_SECS = 2.5
DEAD_AFTER_SECS = 10.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
OPEN_TIMEOUT_SECS = 10.0
REQUEST_TIMEOUT_SECS = 10.0
WATCH_SECS = 0.5  # how often the dead-socket rule is looked at

Listener = Callable[[dict[str, Any]], None]


class SocketError(Exception):
    """The socket ended; the manager decides when to connect again."""


class SocketClosed(SocketError):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed by the server ({code}): {reason}")
        self.code, self.reason = code, reason


class SocketDead(SocketError):
    """No server frame (not even a heartbeat) for DEAD_AFTER_SECS."""


class ShutdownNotice(SocketError):
    def __init__(self, reason_code: str) -> None:
        super().__init__(f"the server is shutting the socket down: {reason_code}")
        self.reason_code = reason_code


class AuthFailed(SocketError):
    """`authorize` refused (an expired or unknown token): renew it before connecting again."""


class RequestFailed(SocketError):
    """A request that got no answer (in time, or the socket ended first)."""


def parse_frame(text: str) -> tuple[str, list[dict[str, Any]]]:
    """A server frame: its type (`o`, `h`, `a`, `c`) and, for `a` and `c`, its payload."""
    kind = text[:1]
    if kind == "a":
        messages = json.loads(text[1:])
        return kind, [m for m in messages if isinstance(m, dict)]
    if kind == "c":
        code_reason = json.loads(text[1:]) if len(text) > 1 else []
        code = code_reason[0] if code_reason else None
        reason = code_reason[1] if len(code_reason) > 1 else ""
        return kind, [{"code": code, "reason": reason}]
    return kind, []


class TradovateSocket:
    def __init__(
        self,
        url: str,
        token: Callable[[], Awaitable[str]],
        clock: Clock,
        *,
        name: str = "tradovate",
        heartbeat_secs: float = HEARTBEAT_SECS,
        dead_after_secs: float = DEAD_AFTER_SECS,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.url = url
        self.token = token  # the access token (or md token) to authorize with, asked each time
        self.clock = clock
        self.name = name
        self.heartbeat_secs = heartbeat_secs
        self.dead_after_secs = dead_after_secs
        self.max_message_bytes = max_message_bytes
        self.listeners: list[Listener] = []
        self.ready = asyncio.Event()  # authorized: requests may be sent
        self.last_frame_at: float | None = None  # clock.monotonic() of the last server frame
        self.frames = 0
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def run(self) -> None:
        """One connection, until it ends: always raises a SocketError saying why (a stop
        raises CancelledError)."""
        self.ready.clear()
        tasks: list[asyncio.Task[None]] = []
        try:
            await self._open()
            tasks = [
                asyncio.create_task(self._read(), name=f"{self.name}-read"),
                asyncio.create_task(self._beat(), name=f"{self.name}-heartbeat"),
                asyncio.create_task(self._watch(), name=f"{self.name}-watch"),
            ]
            authorized = asyncio.create_task(self._authorize(), name=f"{self.name}-authorize")
            tasks.append(authorized)
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if authorized in done and authorized.exception() is None:
                self.ready.set()
                await asyncio.wait(tasks[:3], return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            raise SocketClosed(None, "the socket ended")
        except SocketError:
            raise
        except Exception as e:  # a bad frame, a failed send, the token provider: said so
            raise SocketError(f"the socket failed: {type(e).__name__}: {e}") from e
        finally:
            self.ready.clear()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._fail_waiting(RequestFailed("the socket ended"))
            await self.close()

    async def _open(self) -> None:
        """Connected and `o` received, bounded; a failed open never leaves a socket behind
        (the `finally` of run() closes it)."""
        try:
            async with asyncio.timeout(OPEN_TIMEOUT_SECS):
                self._ws = await websockets.connect(
                    self.url, max_size=self.max_message_bytes, open_timeout=OPEN_TIMEOUT_SECS
                )
                opened = await self._ws.recv()
        except websockets.InvalidStatus as e:
            raise SocketError(f"connect refused: HTTP {e.response.status_code}") from None
        except (OSError, TimeoutError, websockets.WebSocketException) as e:
            raise SocketError(f"connect failed: {type(e).__name__}: {e}") from None
        if opened != "o":
            raise SocketError(f"expected the open frame 'o', got {str(opened)[:40]!r}")
        self.last_frame_at = self.clock.monotonic()

    async def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await ws.close(1000, "Client initiated disconnect.")

    async def _authorize(self) -> None:
        token = await self.token()
        answer = await self._send_request("authorize", token, raw=True)
        if answer.get("s") != 200:
            raise AuthFailed(f"authorize refused ({answer.get('s')}): {answer.get('d')}")

    async def request(
        self, endpoint: str, body: Any = None, query: str = "", within: float | None = None
    ) -> tuple[int, Any]:
        """An authorized request over the socket: (status, `d`). Bounded."""
        wait = REQUEST_TIMEOUT_SECS if within is None else within
        try:
            async with asyncio.timeout(wait):
                await self.ready.wait()
        except TimeoutError:
            raise RequestFailed(f"the socket was not ready for {endpoint} in time") from None
        answer = await self._send_request(endpoint, body, query=query, within=within)
        return int(answer.get("s", 0)), answer.get("d")

    async def _send_request(
        self,
        endpoint: str,
        body: Any,
        *,
        query: str = "",
        raw: bool = False,
        within: float | None = None,
    ) -> dict[str, Any]:
        ws = self._ws
        if ws is None:
            raise RequestFailed("the socket is not open")
        request_id = next(self._ids)
        text = body if raw else ("" if body is None else json.dumps(body))
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiter
        try:
            await ws.send(f"{endpoint}\n{request_id}\n{query}\n{text}")
            async with asyncio.timeout(REQUEST_TIMEOUT_SECS if within is None else within):
                return await waiter
        except TimeoutError:
            raise RequestFailed(f"no answer to {endpoint} in time") from None
        finally:
            self._waiting.pop(request_id, None)

    def _fail_waiting(self, error: Exception) -> None:
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(error)
        self._waiting.clear()

    async def _read(self) -> None:
        ws = self._ws
        assert ws is not None
        while True:
            try:
                text = await ws.recv()
            except websockets.ConnectionClosed as e:
                got = e.rcvd
                raise SocketClosed(got.code if got else None, got.reason if got else "") from None
            self.last_frame_at = self.clock.monotonic()
            self.frames += 1
            kind, payload = parse_frame(str(text))
            if kind == "c":
                [closing] = payload
                raise SocketClosed(closing["code"], str(closing["reason"]))
            for message in payload:
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        request_id = message.get("i")
        if request_id is not None and "e" not in message:
            waiter = self._waiting.get(request_id) if isinstance(request_id, int) else None
            if waiter is not None and not waiter.done():
                waiter.set_result(message)
            return
        if message.get("e") == "shutdown":
            data = message.get("d") or {}
            raise ShutdownNotice(str(data.get("reasonCode", "unknown")))
        for listener in self.listeners:
            try:
                listener(message)
            except Exception:  # one listener's bug never stops the others or the socket
                log.exception("stream listener failed", socket=self.name)

    async def _beat(self) -> None:
        ws = self._ws
        assert ws is not None
        while True:
            await self.clock.sleep(self.heartbeat_secs)
            await ws.send("[]")

    async def _watch(self) -> None:
        while True:
            await self.clock.sleep(WATCH_SECS)
            last = self.last_frame_at
            if last is not None and self.clock.monotonic() - last > self.dead_after_secs:
                raise SocketDead(
                    f"no frame from the server for more than {self.dead_after_secs:g} s"
                )
