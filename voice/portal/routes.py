"""The staff portal: server-rendered pages for liaison staff."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from voice.auth import staff_sessions
from voice.auth.access import CSRF_FIELD, STAFF_SESSION_KEY, csrf_token
from voice.auth.deps import CurrentStaff
from voice.auth.principals import Role
from voice.deps import SessionDep, SettingsDep
from voice.portal.layout import TEMPLATES
from voice.portal.oidc import page_after_sign_in, start_staff_session

router = APIRouter(prefix="/portal", include_in_schema=False)


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    context = {"csrf_token": csrf_token(request), **context}
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/dev-sign-in", response_class=HTMLResponse)
def dev_sign_in_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    if not settings.is_development:
        raise HTTPException(status_code=404, detail="not available")
    return _render(request, "dev_sign_in.html", {"staff": None, "roles": [r.value for r in Role]})


@router.post("/dev-sign-in")
async def dev_sign_in(
    request: Request,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=100)],
    role: Annotated[Role, Form()] = Role.LIAISON,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    # A stand-in for the identity provider, for the embedded demo only.
    if not settings.is_development:
        raise HTTPException(status_code=404, detail="not available")
    expected = request.session.get("csrf")
    if not expected or not hmac.compare_digest(expected, csrf):
        raise HTTPException(status_code=403, detail="the CSRF token is missing or wrong")
    after = page_after_sign_in(request)
    await start_staff_session(
        request,
        subject=f"dev:{role.value}",
        name=name.strip() or "Demo staff",
        roles=[role.value],
        via="development",
    )
    return RedirectResponse(after, status_code=303)


@router.post("/sign-out", response_class=HTMLResponse)
def sign_out(request: Request, staff: CurrentStaff, session: SessionDep) -> Response:
    # The CSRF check has passed (the matrix dependency runs first); end the session on the
    # server too, so a copy of the cookie is worth nothing from here on.
    token = request.session.get(STAFF_SESSION_KEY)
    if isinstance(token, str):
        staff_sessions.end(session=session, token=token)
    request.session.clear()
    return _render(request, "signed_out.html", {"staff": None})


@router.get("/me", response_class=HTMLResponse)
def me_page(request: Request, staff: CurrentStaff) -> HTMLResponse:
    return _render(request, "me.html", {"staff": staff})
