"""Run the simulator on a real socket, in process (tests, the demo) or from the command line."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Literal

import uvicorn
from fastapi import FastAPI

from justtrades.sim.exchange import Exchange
from justtrades.sim.server import SimState, create_sim_app


class SimServer:
    """The simulator (or any ASGI app, with lifespan="on") served by uvicorn inside the running
    event loop.

    `async with SimServer(app) as sim:` listens on 127.0.0.1 (port 0 picks a free one) and
    gives `sim.base_url` (`http://127.0.0.1:PORT`) and `sim.exchange`.
    """

    def __init__(
        self,
        app: FastAPI | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        lifespan: Literal["on", "off"] = "off",
    ):
        self.app = app or create_sim_app()
        self.host = host
        config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            log_level="warning",
            lifespan=lifespan,
            log_config=None,  # the process's logging (justtrades.logs), not uvicorn's own
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None
        self.port = port

    @property
    def state(self) -> SimState:
        state: SimState = self.app.state.sim
        return state

    @property
    def exchange(self) -> Exchange:
        return self.state.exchange

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """What a Tradovate client takes as its base URL (`.../v1`)."""
        return f"{self.base_url}/v1"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(), name="tradovate-sim")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start
                raise RuntimeError("simulator stopped before it started")
            await asyncio.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
