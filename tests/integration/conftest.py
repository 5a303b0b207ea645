"""What the simulator's own tests share: a raw HTTP client to it, and a login."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from justtrades.sim.runner import SimServer


@pytest.fixture
async def http(sim: SimServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=5) as client:
        yield client


async def login(http: httpx.AsyncClient) -> dict[str, Any]:
    """A fresh `auth/accesstokenrequest` as the demo user: its tokens and ids."""
    r = await http.post(
        "/v1/auth/accesstokenrequest",
        json={"name": "demo", "password": "demo", "appId": "any", "cid": 99, "sec": "x"},
    )
    assert r.status_code == 200
    data: dict[str, Any] = r.json()
    return data


@pytest.fixture
async def tokens(http: httpx.AsyncClient) -> dict[str, Any]:
    return await login(http)
