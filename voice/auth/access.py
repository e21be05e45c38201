"""Resolving the caller of a request and checking it against the route matrix."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

import fastapi.routing
import sqlalchemy as sa
from fastapi import HTTPException, Request, status
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine

from voice.auth import matrix, principals, staff_sessions
from voice.auth.machine import InvalidToken, MachineTokenVerifier
from voice.auth.principals import ANONYMOUS, Principal, PrincipalKind, Role
from voice.auth.victim_sessions import SESSION_PREFIX, remembered, victim_id_for_session
from voice.config import Settings
from voice.database import read_only

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
# The one thing a signed-in staff member's cookie holds.
STAFF_SESSION_KEY = "sid"
# The portal page a signed-out browser asked for, kept in its cookie session until sign-in.
AFTER_SIGN_IN_KEY = "after_sign_in"

_UNAUTHENTICATED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="authentication is required",
    headers={"WWW-Authenticate": "Bearer"},
)


class MissingFromMatrix(RuntimeError):
    """A route was added without saying who may call it."""


def resolve(
    request: Request, *, engine: Engine, settings: Settings, verifier: MachineTokenVerifier
) -> Principal:
    """Who is calling. A presented credential that does not verify is a 401, never anonymous."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _UNAUTHENTICATED
        token = token.strip()
        if token.startswith(SESSION_PREFIX):
            remembered_id = remembered(token)
            if remembered_id is not None:
                return principals.victim(remembered_id)
            # A short read of its own, finished before the route runs: the route's own
            # transaction (on SQLite, a write lock) must not be held across the request.
            with read_only(engine).connect() as connection:
                return victim_from_session(connection, token)
        try:
            claims = verifier.verify(token)
        except InvalidToken as exc:
            log.info("machine token refused (%s)", exc)
            raise _UNAUTHENTICATED from exc
        return principals.machine(claims.client_id, claims.scopes)
    return staff_from_session(request, settings, engine)


def victim_from_session(connection: sa.Connection, token: str) -> Principal:
    """The victim whose live session ``token`` is, read on ``connection``; else a 401."""
    victim_id = victim_id_for_session(connection=connection, token=token)
    if victim_id is None:
        raise _UNAUTHENTICATED
    return principals.victim(victim_id)


def victim_session_token(request: Request) -> str | None:
    """The victim self-service session token the request carries (not yet checked)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token.startswith(SESSION_PREFIX) else None


def remembered_victim(token: str) -> Principal | None:
    """The signed-in victim, if this process checked session ``token`` a moment ago
    (``victim_sessions.remembered``); None means the session must be read."""
    victim_id = remembered(token)
    return principals.victim(victim_id) if victim_id is not None else None


def staff_from_session(
    request: Request, settings: Settings, engine: Engine, *, touch: bool = True
) -> Principal:
    # The cookie carries only the session id: who it is, and whether it still counts, is the
    # server's to say (voice/auth/staff_sessions.py).
    token = request.session.get(STAFF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        return ANONYMOUS
    staff = staff_sessions.live_session(engine=engine, token=token, settings=settings, touch=touch)
    if staff is None:
        return ANONYMOUS
    # A development sign-in is worthless anywhere but development, even with a valid cookie.
    if staff.via == "development" and not settings.is_development:
        return ANONYMOUS
    roles = frozenset(Role(r) for r in staff.roles if r in {x.value for x in Role})
    return principals.staff(staff.subject, staff.name, roles)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (before sign-in too: login forms need one)."""
    signed_in = request.session.get(STAFF_SESSION_KEY)
    if isinstance(signed_in, str) and signed_in:
        settings: Settings = request.app.state.settings
        return staff_sessions.csrf_for(signed_in, settings)
    token: str | None = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Unsafe requests that ride on the session cookie must echo its CSRF token."""
    expected = csrf_token(request)
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if not expected or not presented or not hmac.compare_digest(expected, presented):
        raise HTTPException(status_code=403, detail="the CSRF token is missing or wrong")


def route_template(request: Request) -> str:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        raise MissingFromMatrix("request reached a route the matrix cannot name")
    return route.path


def admits(grants: frozenset[str], principal: Principal) -> bool:
    return matrix.PUBLIC in grants or bool(grants & principal.grants)


def deny(request: Request, principal: Principal, settings: Settings) -> HTTPException:
    if principal.kind is PrincipalKind.ANONYMOUS:
        if request.url.path == "/portal" or request.url.path.startswith("/portal/"):
            # Browsers are sent to sign in, and back to this page afterwards; the API answers 401.
            if request.method == "GET":
                request.session[AFTER_SIGN_IN_KEY] = request.url.path
            return HTTPException(status_code=303, headers={"Location": "/portal/sign-in"})
        return _UNAUTHENTICATED
    return HTTPException(status_code=403, detail="this caller may not use this route")


def api_routes(routes: list[Any]) -> list[tuple[str, str]]:
    """Every (method, path) the app serves through FastAPI, included routers too."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    found = []
    # FastAPI 0.16x keeps included routers nested; older versions flatten them into app.routes.
    for route in iterate(routes) if iterate is not None else routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute):
            found += [(method, str(route.path)) for method in sorted(original.methods or ())]
    return found


def check_app_routes(routes: list[Any]) -> None:
    """Refuse to build an app with a route that the matrix does not list."""
    missing = [
        f"{method} {path}"
        for method, path in api_routes(routes)
        if matrix.allowed(method, path) is None
    ]
    if missing:
        raise MissingFromMatrix(f"routes missing from voice/auth/matrix.py: {', '.join(missing)}")
