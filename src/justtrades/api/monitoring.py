"""Monitoring for operators: /health (liveness), /status (readiness and components; the detail
with an admin key) and /metrics (Prometheus; a bearer token when JT_METRICS_TOKEN is set)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from justtrades import status as service_status
from justtrades.api.deps import OptionalAdmin, Svc
from justtrades.metrics import CONTENT_TYPE

router = APIRouter(tags=["monitoring"])


@router.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/status",
    summary="Readiness and component state",
    description="Component health for anyone (503 when degraded). With an admin's API key "
    "(`Authorization: Bearer <key>`) also `detail`: every task, per-strategy activity, "
    "per-connection sessions, broker calls whose outcome is not settled, recent failures.",
)
async def status(svc: Svc, admin: OptionalAdmin) -> JSONResponse:
    body = await service_status.public_status(svc)
    if admin is not None:
        body["detail"] = await service_status.admin_detail(svc)
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request, svc: Svc) -> Response:
    token = svc.settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return JSONResponse(
                {"error": "send Authorization: Bearer <JT_METRICS_TOKEN>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    return Response(svc.metrics.render(), media_type=CONTENT_TYPE)
