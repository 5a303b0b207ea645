"""The access log and the request id, as a pure ASGI middleware (no buffering of bodies).

Each request gets an id (the caller's `X-Request-ID` when it is a short plain token, else a new
one), bound to every log line written while it is handled and returned in `X-Request-ID`. One
`request` line when it is answered: method, path (a webhook's token masked), the route's
template, status and duration. Probes (/health, /metrics) are logged at debug level only, so a
scrape every few seconds does not drown the log.
"""

from __future__ import annotations

import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from justtrades.logs import bind, get_logger, scrub

log = get_logger("justtrades.access")

REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
PROBES = frozenset({"/health", "/metrics"})


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER:
            given: str = bytes(value).decode("latin-1")
            if _VALID_ID.match(given):
                return given
            break
    return secrets.token_hex(8)


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        status = 500  # what the client gets when the app fails before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with bind(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                path = scope.get("path", "")
                route = getattr(scope.get("route"), "path", None)
                client = scope.get("client")
                fields = {
                    "method": scope.get("method"),
                    "path": scrub(path),
                    "route": route,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": client[0] if client else None,
                }
                if path in PROBES:
                    log.debug("request", **fields)
                else:
                    log.info("request", **fields)
