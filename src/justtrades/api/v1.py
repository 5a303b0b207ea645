"""REST API v1. Every resource is scoped to its owner: reads start from `owned()`/`mine()`
(api/common.py). The routes live by resource: api/brokers.py, api/strategies.py,
api/signals.py."""

from __future__ import annotations

from fastapi import APIRouter

from justtrades.api import brokers, signals, strategies
from justtrades.api.common import url_allowed

router = APIRouter(prefix="/api/v1", tags=["api v1"])
router.include_router(brokers.router)
router.include_router(strategies.router)
router.include_router(signals.router)

__all__ = ["router", "url_allowed"]
