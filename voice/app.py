"""The FastAPI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from voice import __version__, health, metrics, tracing
from voice.api_docs import install_docs
from voice.audit.group_commit import AccountingWriter
from voice.auth import access
from voice.auth.deps import authorize
from voice.auth.machine import build_verifier
from voice.auth.openapi import install_openapi
from voice.config import Environment, Settings, get_settings
from voice.cookie_sessions import CookieSessionMiddleware
from voice.database import make_engine
from voice.disclosure.policy import cached_policy, default_policy_path
from voice.errors import install_problem_handlers
from voice.headers import SecurityHeadersMiddleware
from voice.ingest.api import router as ingest_router
from voice.ingest.group_commit import EventWriter
from voice.inquiries import intake as inquiry_intake
from voice.inquiries.email_api import router as inbound_email_router
from voice.inquiries.victim_api import router as questions_router
from voice.notify.adapters import build_email_sender, build_sms_sender
from voice.notify.callbacks.api import router as notify_router
from voice.notify.verification_messages import VerificationCourier
from voice.pii import keyring
from voice.pii.rotation import BackgroundRotation
from voice.portal import answer_templates as portal_answer_templates
from voice.portal import cases as portal_cases
from voice.portal import guard as portal_guard
from voice.portal import home as portal_home
from voice.portal import inquiry_calls as portal_inquiry_calls
from voice.portal import messages as portal_messages
from voice.portal import privacy as portal_privacy
from voice.portal import referrals as portal_referrals
from voice.portal import registrant_actions as portal_registrant_actions
from voice.portal import registrants as portal_registrants
from voice.portal import search as portal_search
from voice.portal import security as portal_security
from voice.portal import status_entry as portal_status_entry
from voice.portal import webhooks as portal_webhooks
from voice.portal.inquiries import router as portal_inquiries_router
from voice.portal.oidc import router as oidc_router
from voice.portal.routes import router as portal_router
from voice.request_ids import RequestIdMiddleware
from voice.selfservice import contact_points as contact_confirmation
from voice.selfservice.api import router as selfservice_router
from voice.selfservice.case_pages import router as selfservice_case_pages
from voice.selfservice.contact_pages import router as selfservice_contact_pages
from voice.selfservice.notices import router as notices_router
from voice.selfservice.pages import router as selfservice_pages
from voice.selfservice.preference_pages import router as selfservice_preference_pages
from voice.selfservice.question_pages import router as selfservice_question_pages
from voice.v1 import routers as v1_routers
from voice.web.errors import install_error_pages
from voice.web.static import mount_static
from voice.worker import BackgroundWorker, make_context

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    run_worker: bool = False,
    http_client: httpx.Client | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url, echo=settings.database_echo)
    policy = cached_policy(settings.policy_path or default_policy_path())
    keyring.configure(settings)

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        worker = None
        rotation = None
        if run_worker:
            worker = BackgroundWorker(make_context(engine=engine, settings=settings, policy=policy))
            worker.start()
            rotation = BackgroundRotation(engine)
            rotation.start()
        try:
            yield
        finally:
            # Commits whatever reads are still waiting on their accounting.
            await run_in_threadpool(running.state.accounting_writer.close)
            # Applies and commits whatever events are still waiting for their answer.
            await run_in_threadpool(running.state.event_writer.close)
            if worker is not None:
                worker.stop()
            if rotation is not None:
                rotation.stop()

    app = FastAPI(
        title="VOICE",
        version=__version__,
        description="Victim notification and case management for a victim-liaison office.",
        lifespan=lifespan,
        # Every route passes the access matrix (voice/auth/matrix.py) before anything else.
        dependencies=[Depends(authorize)],
        redoc_url=None,
        docs_url=None,  # voice/api_docs.py serves it without a CDN
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.policy = policy
    app.state.accounting_writer = AccountingWriter(engine)
    app.state.event_writer = EventWriter(engine)
    app.state.machine_verifier = build_verifier(settings, http_client)
    app.state.sign_in_email = build_email_sender(settings)
    app.state.contact_courier = VerificationCourier(
        settings=settings, email=app.state.sign_in_email, sms=build_sms_sender(settings)
    )
    # Free-text SMS becomes an inquiry: notify sits below the queue, so it is handed the sink.
    app.state.free_text_sink = inquiry_intake.from_sms

    app.add_middleware(
        CookieSessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="voice_session",
        same_site="lax",
        # Plain HTTP is only tolerated for the embedded development default on loopback.
        https_only=settings.environment is not Environment.DEVELOPMENT,
        max_age=8 * 3600,
    )
    if settings.cors_origins:
        # Closed unless origins are configured, and never with credentials: the API's browser
        # callers are same-origin portal pages.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["authorization", "content-type"],
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(metrics.RequestMetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    install_problem_handlers(app)
    install_docs(app)
    install_error_pages(app)
    # Routes are matched in order, one by one: the busiest, the victims' lookup, goes first.
    app.include_router(selfservice_router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(ingest_router)
    app.include_router(notify_router)
    app.include_router(inbound_email_router)
    app.include_router(questions_router)
    app.include_router(notices_router)
    app.include_router(selfservice_pages)
    app.include_router(contact_confirmation.api)
    app.include_router(contact_confirmation.pages)
    app.include_router(selfservice_case_pages)
    app.include_router(selfservice_preference_pages)
    app.include_router(selfservice_contact_pages)
    app.include_router(selfservice_question_pages)
    app.include_router(oidc_router)
    app.include_router(portal_router)
    for portal_pages in (
        portal_home,
        portal_search,
        portal_cases,
        portal_registrants,
        portal_registrant_actions,
        portal_messages,
        portal_status_entry,
        portal_guard,
        portal_privacy,
        portal_security,
        portal_webhooks,
        # Fixed paths under /portal/inquiries before the inbox's /{inquiry_id}.
        portal_inquiry_calls,
        portal_referrals,
        portal_answer_templates,
    ):
        app.include_router(portal_pages.router)
    app.include_router(portal_inquiries_router)
    for router in v1_routers():
        app.include_router(router)
    access.check_app_routes(app.routes)
    install_openapi(app)
    mount_static(app)
    app.mount(
        "/static", StaticFiles(directory=Path(__file__).parent / "portal" / "static"), name="static"
    )
    return app


def production_app() -> FastAPI:
    """The app for each of several API processes (``voice serve --workers N``): settings from
    the environment, tracing for this process, and no in-process worker."""
    settings = get_settings()
    tracing.configure(settings, service="voice-api")
    return create_app(settings, run_worker=False)
