"""Where an emailed sign-in link lands.

Opening the link (GET) changes nothing: mail scanners that follow links must not spend them.
The page's button posts the token; that spends it and shows the victim their cases, disclosed
and accounted for like any other self-service read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from voice.deps import SessionDep, SettingsDep
from voice.disclosure.deps import PolicyDep
from voice.selfservice import service, wording
from voice.victims import signin as victim_signin
from voice.victims.models import Victim

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals.update(label=wording.label, show=wording.value)

router = APIRouter(prefix="/self-service", include_in_schema=False)


@router.get("/sign-in-link", response_class=HTMLResponse)
def open_link(
    request: Request, settings: SettingsDep, token: Annotated[str, Query(max_length=128)] = ""
) -> HTMLResponse:
    # No token is not a spent link: the page says what is needed and how to get it.
    context = _context(settings, "en", token=token, missing=not token)
    return TEMPLATES.TemplateResponse(request, "link.html", context)


def _context(
    settings: SettingsDep,
    lang: str,
    *,
    token: str = "",
    cases: object = None,
    refused: bool = False,
    missing: bool = False,
) -> dict[str, object]:
    lang = wording.language(lang)
    text = {k: v.format(office=settings.office_contact) for k, v in wording.PAGE_TEXT[lang].items()}
    return {
        "token": token,
        "cases": cases,
        "refused": refused,
        "missing": missing,
        "lang": lang,
        "text": text,
    }


@router.post("/sign-in-link", response_class=HTMLResponse)
def use_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    token: Annotated[str, Form(max_length=128)],
) -> HTMLResponse:
    try:
        issued = victim_signin.redeem_link(session=session, token=token, settings=settings)
    except victim_signin.SignInRefused:
        refused = _context(settings, "en", refused=True)
        return TEMPLATES.TemplateResponse(request, "link.html", refused, status_code=401)
    victim = victim_signin.victim_for_session(session=session, token=issued.token)
    assert isinstance(victim, Victim)
    views = service.linked_cases(session=session, victim=victim, policy=policy)
    shown = _context(settings, victim.preferred_language, cases=views)
    return TEMPLATES.TemplateResponse(request, "link.html", shown)
