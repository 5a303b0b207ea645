"""POST /webhook/{token}: TradingView's alert. Answers in milliseconds; never a broker call."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from justtrades.app import Services
from justtrades.execution.engine import BadSignal, Unavailable, UnknownToken

router = APIRouter(tags=["webhook"])
MAX_BODY = 65_536
NOT_FOUND = {"error": "unknown webhook URL"}


@router.post("/webhook/{token}", summary="Receive a TradingView alert")
async def receive(token: str, request: Request) -> JSONResponse:
    """Body: JSON (`{"action": "buy", "ticker": "MNQ1!", ...}`) or plain text (`buy MNQ1!`).
    200 with the signal id when accepted (the outcome is recorded, also when a filter blocks
    it); 404 for an unknown token; 4xx with the reason for a body that cannot be understood."""
    svc: Services = request.app.state.services
    started = time.perf_counter()
    code = 500  # what the client gets if answering fails: counted too
    try:
        answer = await _answer(svc, token, request)
        code = answer.status_code
        return answer
    finally:
        svc.metrics.webhook_ack.observe(time.perf_counter() - started)
        svc.metrics.webhook_requests.labels(str(code)).inc()


async def _answer(svc: Services, token: str, request: Request) -> JSONResponse:
    too_large = JSONResponse({"error": f"body larger than {MAX_BODY} bytes"}, status_code=413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # never more than MAX_BODY in memory
        size += len(chunk)
        if size > MAX_BODY:
            return too_large
        chunks.append(chunk)
    body = b"".join(chunks)
    try:
        accepted = await svc.engine.accept(token, body, request.headers.get("content-type"))
    except UnknownToken:
        return JSONResponse(NOT_FOUND, status_code=404)
    except Unavailable:  # TradingView retries after a 5xx, never after a 4xx
        return JSONResponse({"error": "not ready to execute signals, retry"}, status_code=503)
    except BadSignal as e:
        return JSONResponse({"error": e.message, "signal_id": e.signal_id}, status_code=422)
    out: dict[str, object] = {"signal_id": accepted.signal_id, "status": accepted.status}
    if accepted.detail:
        out["detail"] = accepted.detail
    return JSONResponse(out)


@router.get("/webhook/{token}", summary="Check that a webhook URL is live")
async def live(token: str, request: Request) -> JSONResponse:
    svc: Services = request.app.state.services
    strategy = svc.engine.cache.by_token(token)
    if strategy is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    return JSONResponse(
        {
            "live": True,
            "strategy": strategy.name,
            "enabled": strategy.enabled,
            "hint": "POST your TradingView alert message to this URL",
        }
    )
