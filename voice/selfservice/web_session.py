"""The self-service web's session: an opaque token in a cookie, everything else on the server.

The cookie holds only the session's random token; the server keeps its hash (``victim_session``)
with when it ends. A page visit moves the end to the idle limit from now, never past the
session's maximum age, so a session left open on a shared computer ends on its own. The clock
is a dependency (``ClockDep``), so tests move time instead of waiting for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session, select

from voice.auth import access, credentials
from voice.auth.models import VictimSession
from voice.config import Environment, Settings
from voice.database import read_only, utcnow
from voice.deps import SessionDep, SettingsDep
from voice.victims.models import Victim

COOKIE = "voice_victim"
COOKIE_PATH = "/self-service"
SIGN_IN = "/self-service/sign-in"


def get_clock() -> Callable[[], datetime]:
    return utcnow


ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]


def _signed_out(reason: str) -> HTTPException:
    # A redirect, not an error page: the person simply signs in again.
    return HTTPException(status_code=303, headers={"Location": f"{SIGN_IN}?{reason}=1"})


def set_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        token,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        # Plain HTTP only for the embedded development default on loopback, as for staff.
        secure=settings.environment is not Environment.DEVELOPMENT,
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH)


def _find(session: SessionDep, token: str) -> VictimSession | None:
    return session.exec(
        select(VictimSession).where(VictimSession.token_hash == credentials.hash_token(token))
    ).first()


def current_web_victim(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> Victim:
    """The signed-in victim; anyone else is sent to the sign-in page."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise _signed_out("signed_out")
    row = _find(session, token)
    now = clock()
    if row is None or row.revoked_at is not None:
        raise _signed_out("signed_out")
    if row.expires_at <= now:
        raise _signed_out("timeout")
    victim = session.get(Victim, row.victim_id)
    if victim is None or not victim.active:
        raise _signed_out("signed_out")
    row.expires_at = min(
        now + timedelta(minutes=settings.self_service_idle_minutes),
        row.created_at + timedelta(hours=settings.self_service_max_hours),
    )
    session.add(row)
    return victim


WebVictim = Annotated[Victim, Depends(current_web_victim)]


def signed_in_victim(request: Request) -> Victim | None:
    """The victim whose live session the request carries, read without touching it: for error
    pages, which run outside the routes' dependencies (and on the event loop: it only reads)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    engine = request.app.state.engine
    with Session(read_only(engine), expire_on_commit=False) as session:
        row = _find(session, token)
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
            return None
        victim = session.get(Victim, row.victim_id)
    return victim if victim is not None and victim.active else None


def end_session(*, session: SessionDep, token: str | None, now: datetime) -> None:
    row = _find(session, token) if token else None
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        session.flush()


async def check_csrf(request: Request) -> None:
    """Every form post carries the page's CSRF token (the signed-in pages and sign-in alike).

    A missing or stale token is a 400, not a 403: nobody is refused anything, the form is only
    out of date (an old tab, a cleared cookie), and reloading the page mends it.
    """
    try:
        await access.check_csrf(request)
    except HTTPException as exc:
        raise HTTPException(status_code=400, detail="the form is out of date") from exc


CsrfChecked = Depends(check_csrf)


async def checked_web_victim(request: Request, victim: WebVictim) -> Victim:
    """For a signed-in form post: the session first (no session, off to sign in), then the
    form's CSRF token."""
    await check_csrf(request)
    return victim


PostingVictim = Annotated[Victim, Depends(checked_web_victim)]
