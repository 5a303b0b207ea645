"""The demo's seeding, served for real: the printed curl line trades on the three accounts."""

from __future__ import annotations

import httpx

from justtrades.app import Services, create_app
from justtrades.clock import FakeClock
from justtrades.config import Settings
from justtrades.demo import DEMO_EMAIL, banner, seed
from justtrades.models.db import upgrade
from justtrades.sim.runner import SimServer
from tests.helpers import eventually


async def test_the_demo_seeds_everything_and_its_curl_line_trades(
    tmp_path: object, clock: FakeClock, sim: SimServer
) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/demo.db")
    await upgrade(settings.database_url)
    app = create_app(settings, clock=clock)
    svc: Services = app.state.services
    user, key, strategy = await seed(svc, sim.api_url)
    assert user.email == DEMO_EMAIL
    server = SimServer(app, lifespan="on")
    await server.start()
    try:
        settings.public_url = server.base_url
        text = banner(settings, key, strategy, sim)
        assert key in text and strategy.webhook_token in text
        async with httpx.AsyncClient(
            base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}
        ) as http:
            r = await http.post(
                f"/webhook/{strategy.webhook_token}", json={"action": "buy", "ticker": "MNQ1!"}
            )
            assert r.status_code == 200

            async def positions() -> list[dict[str, object]] | None:
                found = (await http.get("/api/v1/positions")).json()["positions"]
                return found if len(found) == 3 else None

            held = await eventually(positions, timeout_secs=2)
            assert sorted(p["net_pos"] for p in held) == [1, 2, 3]  # type: ignore[type-var]
            for p in held:
                kinds = sorted(
                    (o["order_type"], o["price"] or o["stop_price"]) for o in p["working_orders"]
                )  # type: ignore[attr-defined]
                assert kinds == [("Limit", "21010.0"), ("Stop", "20995.0")]
        # a second run reuses the user, the strategy (same webhook URL) and the traders
        _, key2, again = await seed(svc, sim.api_url)
        assert again.webhook_token == strategy.webhook_token and key2 != key
    finally:
        await server.stop()
