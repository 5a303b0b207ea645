"""The Tradovate-compatible HTTP server: Tradovate's REST surface under `/v1`, and the
simulator's own control API under `/_sim` (control.py), kept apart.

Tradovate's REST is "relaxed": GET and POST both work, parameters come from the query string or
a JSON body, and paths are case-insensitive (`/order/placeOrder` = `/order/placeorder`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from justtrades.clock import Clock, SystemClock
from justtrades.http_errors import validation_error
from justtrades.sim import entity_ops
from justtrades.sim.auth import DEFAULT_TOKEN_TTL_SECS, TokenStore
from justtrades.sim.exchange import Exchange, Rejected
from justtrades.sim.faults import FaultInjector
from justtrades.sim.trading_ops import HANDLERS, Ctx, Violations, access_token_request
from justtrades.sim.websocket import WsHub


@dataclass
class SimState:
    """Everything one simulator instance holds; the control API reaches it too."""

    exchange: Exchange
    tokens: TokenStore
    faults: FaultInjector
    requests: int = 0
    hub: WsHub | None = None  # the WebSocket's open sockets (sim/websocket.py)


def _error(status: int, text: str) -> JSONResponse:
    return JSONResponse({"errorText": text}, status_code=status)


async def _params(request: Request) -> dict[str, Any] | JSONResponse:
    params: dict[str, Any] = dict(request.query_params)
    raw = (await request.body()).strip()
    if raw and raw != b"undefined":
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return _error(400, "request body is not valid JSON")
        if body is None:  # `null`: no body
            return params
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object")
        params.update(body)
    return params


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def handle_v1(state: SimState, request: Request, entity: str, op: str) -> Response:
    state.requests += 1
    params = await _params(request)
    if isinstance(params, JSONResponse):
        return params
    ticket = params.pop("p-ticket", None)
    now = state.exchange.clock.monotonic()
    verdict = state.faults.decide(now, str(ticket) if ticket else None, f"{entity}/{op}")
    if verdict.delay_secs:
        await asyncio.sleep(verdict.delay_secs)
    if verdict.status is not None and not verdict.after:
        return _fault_response(verdict.status)
    if verdict.penalty is not None:
        return JSONResponse(verdict.penalty)
    response = _dispatch(state, request, entity.lower(), op.lower(), params)
    if verdict.status is not None:
        return _fault_response(verdict.status)
    return response


def _fault_response(status: int) -> Response:
    if status == 429:
        return Response(status_code=429)  # Tradovate sends 429 with an empty body
    return Response("Internal Server Error (simulated)", status_code=status)


def _dispatch(
    state: SimState, request: Request, entity: str, op: str, params: dict[str, Any]
) -> Response:
    if f"{entity}/{op}" == "auth/accesstokenrequest":
        return JSONResponse(access_token_request(state.exchange, state.tokens, params))
    user_id = state.tokens.user_for(_bearer(request))
    if user_id is None:
        return _error(401, "Access is denied: missing, invalid or expired access token")
    status, body = dispatch_json(state, user_id, entity, op, params)
    return JSONResponse(body, status_code=status)


def dispatch_json(
    state: SimState, user_id: int, entity: str, op: str, params: dict[str, Any]
) -> tuple[int, Any]:
    """One authenticated request (REST or over the WebSocket): (HTTP status, JSON body)."""
    ex, key = state.exchange, f"{entity}/{op}"
    ctx = Ctx(ex, state.tokens, user_id, state.faults.faults.reject_reason)
    try:
        handler = HANDLERS.get(key)
        if handler is not None:
            return 200, handler(ctx, params)
        kind = entity_ops.CANONICAL.get(entity)
        if kind is None:
            return 404, {"errorText": f"unknown entity {entity!r}"}
        return 200, entity_ops.generic(ex, kind, op, params, user_id)
    except Violations as v:
        return 200, {"violations": v.items}
    except Rejected as r:
        return 200, {"failureReason": r.reason, "failureText": r.text}
    except entity_ops.NotFound as e:
        return 404, {"errorText": str(e)}
    except (ValueError, RecursionError) as e:
        return 400, {"errorText": f"cannot process this request: {e}"[:300]}


def create_sim_app(
    exchange: Exchange | None = None,
    *,
    clock: Clock | None = None,
    seed: int = 1,
    accounts: int = 3,
    token_ttl_secs: float = DEFAULT_TOKEN_TTL_SECS,
) -> FastAPI:
    """The simulator as an ASGI app. Pass an `Exchange` to share it with in-process code."""
    from justtrades.sim.control import control_router

    clock = clock or (exchange.clock if exchange else SystemClock())
    exchange = exchange or Exchange(clock, seed=seed, accounts=accounts)
    state = SimState(exchange, TokenStore(clock, token_ttl_secs), FaultInjector(exchange.seed))
    state.hub = WsHub(state)
    app = FastAPI(
        title="Just Trades Tradovate simulator",
        description="Tradovate's REST surface under /v1; the control API under /_sim.",
        version="1",
    )
    app.state.sim = state

    app.add_exception_handler(RequestValidationError, validation_error)

    @app.api_route("/v1/{entity}/{op}", methods=["GET", "POST"], include_in_schema=False)
    async def v1(entity: str, op: str, request: Request) -> Response:
        return await handle_v1(state, request, entity, op)

    @app.websocket("/v1/websocket")
    async def user_socket(ws: WebSocket) -> None:
        assert state.hub is not None
        await state.hub.serve(ws)

    @app.websocket("/md/v1/websocket")
    async def md_socket(ws: WebSocket) -> None:  # the same socket: user and md/* requests
        assert state.hub is not None
        await state.hub.serve(ws)

    app.include_router(control_router(state))
    return app
