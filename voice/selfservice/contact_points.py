"""Victims prove their contact points: the emailed link's page, and the texted code.

Opening the link (GET) changes nothing, as with sign-in links: mail scanners follow links and
must not confirm an address for the victim. The page's button posts the token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from voice.config import Settings
from voice.deps import SessionDep, SettingsDep
from voice.errors import refused
from voice.liaison import contact_tasks
from voice.selfservice.layout import LANGUAGE_COOKIE, render
from voice.victims import verification
from voice.victims.deps import CurrentVictim, NowDep
from voice.victims.models import Victim
from voice.web import i18n

api = APIRouter(prefix="/api/v1/self-service", tags=["self-service"])
pages = APIRouter(prefix="/self-service", include_in_schema=False)


class LinkToken(BaseModel):
    token: str = Field(min_length=1, max_length=128)


class Code(BaseModel):
    code: str = Field(min_length=1, max_length=12, examples=["482913"])


def _confirm(session: Session, settings: Settings, token: str, now: NowDep) -> Victim:
    victim = verification.confirm_link(session=session, token=token, now=now)
    contact_tasks.reconcile_victim(session=session, settings=settings, victim=victim, now=now)
    return victim


def _page(
    request: Request,
    lang: str,
    state: str,
    token: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    # Signed out, on the victims' layout: a mail scanner or a victim opens it from an email.
    context = {"state": state, "token": token}
    return render(request, "confirm.html", context, language=lang, status_code=status_code)


def _lang(request: Request, session: Session, token: str) -> str:
    """The language asked for on the page, else that of the victim the link was sent to."""
    sent_in = verification.link_language(session=session, token=token) if token else None
    return i18n.negotiate(
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        sent_in,
        accept_language=request.headers.get("accept-language", ""),
    )


@pages.get("/confirm-email", response_class=HTMLResponse)
def confirm_email_page(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Query(max_length=128)] = "",
) -> HTMLResponse:
    lang = _lang(request, session, token)
    if not token:
        return _page(request, lang, "invalid", status_code=400)
    return _page(request, lang, "ask", token=token)


@pages.post("/confirm-email", response_class=HTMLResponse)
def confirm_email_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    token: Annotated[str, Form(max_length=128)],
) -> HTMLResponse:
    lang = _lang(request, session, token)
    try:
        _confirm(session, settings, token, now)
    except verification.VerificationRefused:
        return _page(request, lang, "invalid", status_code=400)
    return _page(request, lang, "done")


@api.post(
    "/confirm-email",
    status_code=204,
    responses={400: {"description": "not valid, already used, or expired"}},
    summary="Confirm an email address with the token from its confirmation link",
)
def confirm_email(
    body: LinkToken, session: SessionDep, settings: SettingsDep, now: NowDep
) -> Response:
    try:
        _confirm(session, settings, body.token, now)
    except verification.VerificationRefused as exc:
        raise HTTPException(status_code=400, detail=f"the link is {exc.reason}") from exc
    return Response(status_code=204)


@api.post(
    "/contact-points/phone/confirm",
    status_code=204,
    response_model=None,
    responses={400: {"description": "wrong or expired code; attempts are limited"}},
    summary="Confirm the signed-in victim's phone number with the texted code",
)
def confirm_phone(
    body: Code, me: CurrentVictim, session: SessionDep, settings: SettingsDep, now: NowDep
) -> Response | JSONResponse:
    victim = session.get(Victim, me.id)
    assert victim is not None
    try:
        verification.confirm_code(
            session=session, settings=settings, victim=victim, code=body.code, now=now
        )
    except verification.VerificationRefused as exc:
        # Answered, not raised: the wrong attempt counts, so the unit of work must commit it.
        return refused(HTTPException(status_code=400, detail=f"the code is {exc.reason}"))
    contact_tasks.reconcile_victim(session=session, settings=settings, victim=victim, now=now)
    return Response(status_code=204)
