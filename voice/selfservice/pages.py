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
from voice.selfservice import service
from voice.victims import signin as victim_signin
from voice.victims.models import Victim

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

router = APIRouter(prefix="/self-service", include_in_schema=False)


@router.get("/sign-in-link", response_class=HTMLResponse)
def open_link(request: Request, token: Annotated[str, Query(max_length=128)] = "") -> HTMLResponse:
    context: dict[str, object] = {"token": token, "cases": None, "refused": not token, "lang": "en"}
    return TEMPLATES.TemplateResponse(request, "link.html", context)


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
        refused = {"token": "", "cases": None, "refused": True, "lang": "en"}
        return TEMPLATES.TemplateResponse(request, "link.html", refused, status_code=401)
    victim = victim_signin.victim_for_session(session=session, token=issued.token)
    assert isinstance(victim, Victim)
    views = service.linked_cases(session=session, victim=victim, policy=policy)
    shown: dict[str, object] = {
        "cases": views,
        "lang": victim.preferred_language,
        "refused": False,
        "token": "",
    }
    return TEMPLATES.TemplateResponse(request, "link.html", shown)
