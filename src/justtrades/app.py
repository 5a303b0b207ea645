"""create_app(settings): the one place where components are built, started and stopped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from justtrades import __version__, logs
from justtrades.brokers.registry import BrokerRegistry
from justtrades.brokers.tradovate.client import HttpPool
from justtrades.clock import Clock, SystemClock
from justtrades.config import Settings
from justtrades.crypto import SecretBox
from justtrades.execution.engine import Engine
from justtrades.http_errors import validation_error
from justtrades.metrics import Metrics
from justtrades.models.db import create_engine, session_factory
from justtrades.tasks import Supervisor

log = logs.get_logger("justtrades.app")


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    box: SecretBox
    registry: BrokerRegistry
    engine: Engine
    tasks: Supervisor
    metrics: Metrics


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    db = create_engine(settings.database_url)
    sessions = session_factory(db)
    key = settings.resolved_secret_key()
    logs.register_secret(key)
    box = SecretBox(key)
    timeout = httpx.Timeout(
        settings.broker_timeout_secs, connect=min(5.0, settings.broker_timeout_secs)
    )
    metrics = Metrics()
    tasks = Supervisor(clock, drain_timeout_secs=settings.drain_timeout_secs)
    metrics.live.task_states = tasks.counts

    def observe(broker: str, endpoint: str, outcome: str, secs: float) -> None:
        metrics.broker_call.labels(broker, endpoint, outcome).observe(secs)

    registry = BrokerRegistry(box, clock, HttpPool(timeout), observe)
    engine = Engine(
        db,
        sessions,
        registry,
        clock,
        dedup_window_secs=settings.dedup_window_secs,
        max_signal_age_secs=settings.max_signal_age_secs,
        tasks=tasks,
        metrics=metrics,
    )
    return Services(settings, clock, db, sessions, box, registry, engine, tasks, metrics)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    from justtrades.api.access import AccessLog
    from justtrades.api.monitoring import router as monitoring_router
    from justtrades.api.v1 import router as v1_router
    from justtrades.api.webhook import router as webhook_router

    settings = settings or Settings()
    services = build_services(settings, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.engine.start()
        log.info("service started", version=__version__, database=services.db.dialect.name)
        try:
            yield
        finally:
            await services.engine.stop()  # no new signal; those executing finish (bounded)
            await services.tasks.stop()
            await services.registry.close()
            await services.db.dispose()
            log.info("service stopped")

    app = FastAPI(
        title="Just Trades",
        version=__version__,
        description="TradingView alerts to futures orders on many broker accounts. "
        "Authenticate with `Authorization: Bearer <API key>` (`justtrades apikey create`).",
        lifespan=lifespan,
    )
    app.state.services = services

    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_middleware(AccessLog)

    app.include_router(webhook_router)
    app.include_router(v1_router)
    app.include_router(monitoring_router)
    return app


def setup_logging(settings: Settings) -> None:
    """Logs for the whole process, with the configured secrets masked wherever they appear
    (the database password is masked inside its URL, where it appears: registered as a bare
    value, a password like "justtrades" would blank that word in every line)."""
    logs.setup(
        settings.log_level,
        settings.log_format,
        secrets=[
            settings.secret_key.get_secret_value() if settings.secret_key else None,
            settings.metrics_token.get_secret_value() if settings.metrics_token else None,
        ],
    )
