"""Victims prove their contact points: the emailed link's page, and the texted code.

Opening the link (GET) changes nothing, as with sign-in links: mail scanners follow links and
must not confirm an address for the victim. The page's button posts the token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlmodel import Session

from voice.config import Settings
from voice.deps import SessionDep, SettingsDep
from voice.errors import refused
from voice.liaison import contact_tasks
from voice.victims import verification
from voice.victims.deps import CurrentVictim, NowDep
from voice.victims.models import Victim

# The confirmation page stands on its own: a mail scanner or a victim opens it signed out.
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
api = APIRouter(prefix="/api/v1/self-service", tags=["self-service"])
pages = APIRouter(prefix="/self-service", include_in_schema=False)

TEXT = {
    "en": {
        "title": "Confirm your email address",
        "ask": "Confirm that this email address reaches you, so we can send you notices.",
        "button": "Confirm my email address",
        "done": "Thank you. Your email address is confirmed: notices will reach you there.",
        "invalid": "This confirmation link is not valid, was already used, or has expired. "
        "Contact the {office} for a new one.",
    },
    "es": {
        "title": "Confirme su correo electrónico",
        "ask": "Confirme que este correo electrónico le llega, para poder enviarle avisos.",
        "button": "Confirmar mi correo electrónico",
        "done": "Gracias. Su correo electrónico quedó confirmado: le enviaremos los avisos allí.",
        "invalid": "Este enlace de confirmación no es válido, ya se usó o venció. "
        "Comuníquese con la {office} para recibir uno nuevo.",
    },
}


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
    settings: Settings,
    token: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    text = {k: v.format(office=settings.office_contact) for k, v in TEXT[lang].items()}
    context = {"lang": lang, "state": state, "text": text, "token": token}
    return TEMPLATES.TemplateResponse(request, "confirm.html", context, status_code=status_code)


def _lang(language: str) -> str:
    return language if language in TEXT else "en"


@pages.get("/confirm-email", response_class=HTMLResponse)
def confirm_email_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Query(max_length=128)] = "",
) -> HTMLResponse:
    if not token:
        return _page(request, "en", "invalid", settings, status_code=400)
    lang = _lang(verification.link_language(session=session, token=token))
    return _page(request, lang, "ask", settings, token=token)


@pages.post("/confirm-email", response_class=HTMLResponse)
def confirm_email_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    token: Annotated[str, Form(max_length=128)],
) -> HTMLResponse:
    lang = _lang(verification.link_language(session=session, token=token))
    try:
        _confirm(session, settings, token, now)
    except verification.VerificationRefused:
        return _page(request, lang, "invalid", settings, status_code=400)
    return _page(request, lang, "done", settings)


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
