"""Signing in and out of the victims' pages: Victim ID and PIN, or a link sent by email.

Every refusal reads the same whether the Victim ID exists or not; a pause after wrong tries is
explained in words that fit an unknown ID just as well. Opening an emailed link (GET) changes
nothing: mail scanners that follow links must not spend them. The page's button posts the
token; that spends it and signs the victim in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from voice.deps import SessionDep, SettingsDep
from voice.notify.adapters.base import EmailSender
from voice.selfservice.layout import render
from voice.selfservice.links import send_sign_in_link
from voice.selfservice.web_session import (
    COOKIE,
    ClockDep,
    CsrfChecked,
    clear_cookie,
    end_session,
    set_cookie,
)
from voice.victims import signin as victim_signin

router = APIRouter(prefix="/self-service", include_in_schema=False)

CASES = "/self-service/cases"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sign_in_page(
    request: Request, *, problem: str | None = None, sent: bool = False, status_code: int = 200
) -> HTMLResponse:
    context = {
        "problem": problem,
        "sent": sent,
        "timed_out": "timeout" in request.query_params,
        "signed_out": "signed_out" in request.query_params,
    }
    return render(request, "sign_in.html", context, status_code=status_code)


@router.get("", response_class=HTMLResponse)
@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request) -> HTMLResponse:
    return _sign_in_page(request)


@router.post("/sign-in", response_class=HTMLResponse, dependencies=[CsrfChecked])
def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    victim_id: Annotated[str, Form(max_length=32)],
    pin: Annotated[str, Form(max_length=32)],
) -> Response:
    try:
        issued = victim_signin.sign_in_with_pin(
            session=session,
            victim_code=victim_id,
            pin=pin,
            address=_address(request),
            settings=settings,
        )
    except victim_signin.SignInRefused as exc:
        # Answered, not raised: the failure counts, so the request's unit of work commits it.
        return _sign_in_page(request, problem=exc.reason, status_code=401)
    response = RedirectResponse(CASES, status_code=303)
    set_cookie(response, issued.token, settings)
    return response


@router.post("/sign-in-link/request", response_class=HTMLResponse, dependencies=[CsrfChecked])
def request_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    victim_id: Annotated[str, Form(max_length=32)],
) -> HTMLResponse:
    try:
        wanted = victim_signin.request_link(
            session=session, victim_code=victim_id, address=_address(request), settings=settings
        )
    except victim_signin.SignInRefused as exc:
        return _sign_in_page(request, problem=exc.reason, status_code=429)
    if wanted.email is not None:
        sender: EmailSender = request.app.state.sign_in_email
        # After the answer: it takes the same time whether or not the Victim ID exists.
        background.add_task(
            send_sign_in_link,
            sender=sender,
            settings=settings,
            to=wanted.email,
            token=wanted.token,
            language=wanted.language,
        )
    return _sign_in_page(request, sent=True)


@router.get("/sign-in-link", response_class=HTMLResponse)
def open_link(request: Request, token: Annotated[str, Query(max_length=128)] = "") -> HTMLResponse:
    # Opened without a token (a copied link cut short): say what is needed, not "expired".
    return render(request, "link.html", {"token": token, "missing": not token, "refused": False})


@router.post("/sign-in-link", response_class=HTMLResponse, dependencies=[CsrfChecked])
def use_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=128)],
) -> Response:
    try:
        issued = victim_signin.redeem_link(session=session, token=token, settings=settings)
    except victim_signin.SignInRefused:
        refused = {"token": "", "missing": False, "refused": True}
        return render(request, "link.html", refused, status_code=401)
    response = RedirectResponse(CASES, status_code=303)
    set_cookie(response, issued.token, settings)
    return response


@router.post("/sign-out", response_class=HTMLResponse, dependencies=[CsrfChecked])
def sign_out(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    end_session(session=session, token=request.cookies.get(COOKIE), now=clock())
    response = RedirectResponse("/self-service?signed_out=1", status_code=303)
    clear_cookie(response)
    return response
