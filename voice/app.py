"""The FastAPI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.middleware.sessions import SessionMiddleware

from voice import __version__, health
from voice.config import Environment, Settings, get_settings
from voice.database import make_engine
from voice.disclosure.policy import cached_policy, default_policy_path
from voice.errors import install_problem_handlers
from voice.ingest.api import router as ingest_router
from voice.notify.api import router as notify_router
from voice.notify.worker import BackgroundWorker, make_context
from voice.portal.routes import router as portal_router
from voice.selfservice.api import router as selfservice_router
from voice.selfservice.notices import router as notices_router

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, run_worker: bool = False
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url, echo=settings.database_echo)
    policy = cached_policy(settings.policy_path or default_policy_path())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker = None
        if run_worker:
            worker = BackgroundWorker(make_context(engine=engine, settings=settings, policy=policy))
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    app = FastAPI(
        title="VOICE",
        version=__version__,
        description="Victim notification and case management for a victim-liaison office.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.policy = policy

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="voice_session",
        same_site="lax",
        # Plain HTTP is only tolerated for the embedded development default on loopback.
        https_only=settings.environment is not Environment.DEVELOPMENT,
        max_age=8 * 3600,
    )
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(ingest_router)
    app.include_router(selfservice_router)
    app.include_router(notify_router)
    app.include_router(notices_router)
    app.include_router(portal_router)
    app.mount(
        "/static", StaticFiles(directory=Path(__file__).parent / "portal" / "static"), name="static"
    )
    return app
