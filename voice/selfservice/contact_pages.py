"""My preferences: a victim changes or adds an email address or phone number, and proves it.

A changed contact point is proven again before any notice goes to it, through the same
service as the portal's and the API's (voice/victims/verification.py): a new email address
gets a confirmation link, a new phone number a texted code that the victim types on the next
page. The old value is replaced at once and receives nothing more: a victim who changes a
number may do so because someone else now holds the old one. Notices on the victim's other,
proven contact point carry on meanwhile. Wrong codes are limited by the challenge itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from voice.config import Settings
from voice.deps import SessionDep, SettingsDep
from voice.liaison import contact_tasks
from voice.selfservice.layout import page_language, render
from voice.selfservice.preference_pages import PREFERENCES, preferences_page
from voice.selfservice.web_session import ClockDep, PostingVictim, WebVictim
from voice.victims import service as victim_service
from voice.victims import verification
from voice.victims.contact_input import ContactInvalid, email_address, phone_e164
from voice.victims.deps import CourierDep
from voice.victims.models import Victim
from voice.victims.verification_models import ContactKind
from voice.web import i18n

router = APIRouter(prefix="/self-service", include_in_schema=False)

PHONE_CODE = f"{PREFERENCES}/phone"
# Asking again sooner sends nothing new: the code already on its way stays the one to type.
RESEND_AFTER = timedelta(minutes=1)


def _current(victim: Victim, kind: ContactKind) -> tuple[str | None, bool]:
    if kind is ContactKind.EMAIL:
        return victim.email, victim.email_verified
    return victim.phone, victim.phone_verified


def _send(
    *,
    session: Session,
    settings: Settings,
    courier: verification.Courier,
    background: BackgroundTasks,
    victim: Victim,
    kind: ContactKind,
    now: datetime,
) -> bool:
    """Send a new link or code, unless the last one went out a moment ago and still works;
    whether one was sent."""
    last = verification.latest_challenge_at(session=session, victim=victim, kind=kind)
    usable = kind is ContactKind.EMAIL or verification.code_waiting(
        session=session, victim=victim, now=now
    )
    if last is not None and now - last < RESEND_AFTER and usable:
        return False
    challenge = verification.start(
        session=session, settings=settings, victim=victim, kind=kind, now=now
    )
    if challenge is None:
        return False
    # After the unit of work commits: the code must be stored before it can be typed.
    background.add_task(courier.deliver, challenge)
    return True


def _change(
    request: Request,
    *,
    session: Session,
    settings: Settings,
    courier: verification.Courier,
    background: BackgroundTasks,
    victim: Victim,
    kind: ContactKind,
    raw: str,
    now: datetime,
) -> Response:
    t = i18n.translations(page_language(request, victim))
    try:
        value = phone_e164(raw) if kind is ContactKind.PHONE else email_address(raw)
    except ContactInvalid:
        error = (
            t.gettext("Enter a phone number, like 202 555 0143.")
            if kind is ContactKind.PHONE
            else t.gettext("Enter an email address, like name@example.org.")
        )
        return preferences_page(
            request, session=session, victim=victim, errors={kind.value: error}, status_code=422
        )
    current, proven = _current(victim, kind)
    if value == current and proven:
        return RedirectResponse(f"{PREFERENCES}?saved=1", status_code=303)
    if value != current:
        victim_service.update_victim(session=session, victim=victim, changes={kind.value: value})
    _send(
        session=session,
        settings=settings,
        courier=courier,
        background=background,
        victim=victim,
        kind=kind,
        now=now,
    )
    contact_tasks.reconcile_victim(session=session, settings=settings, victim=victim, now=now)
    if kind is ContactKind.PHONE:
        return RedirectResponse(PHONE_CODE, status_code=303)
    return RedirectResponse(f"{PREFERENCES}?link_sent=1", status_code=303)


@router.post("/preferences/email")
def change_email(
    request: Request,
    victim: PostingVictim,
    session: SessionDep,
    settings: SettingsDep,
    courier: CourierDep,
    clock: ClockDep,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    return _change(
        request,
        session=session,
        settings=settings,
        courier=courier,
        background=background,
        victim=victim,
        kind=ContactKind.EMAIL,
        raw=email,
        now=clock(),
    )


@router.post("/preferences/phone")
def change_phone(
    request: Request,
    victim: PostingVictim,
    session: SessionDep,
    settings: SettingsDep,
    courier: CourierDep,
    clock: ClockDep,
    background: BackgroundTasks,
    phone: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    return _change(
        request,
        session=session,
        settings=settings,
        courier=courier,
        background=background,
        victim=victim,
        kind=ContactKind.PHONE,
        raw=phone,
        now=clock(),
    )


def _code_page(
    request: Request,
    victim: Victim,
    *,
    waiting: bool,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "phone": victim.phone,
        "error": error,
        "resent": "resent" in request.query_params,
        "recent": "recent" in request.query_params,
        # Whether a code was texted and can still be used: if not, the page offers to send
        # one rather than saying one was sent.
        "waiting": waiting,
    }
    return render(request, "phone_code.html", context, victim=victim, status_code=status_code)


@router.get("/preferences/phone", response_class=HTMLResponse)
def code_form(
    request: Request, victim: WebVictim, session: SessionDep, clock: ClockDep
) -> Response:
    if victim.phone is None or victim.phone_verified:
        return RedirectResponse(PREFERENCES, status_code=303)
    waiting = verification.code_waiting(session=session, victim=victim, now=clock())
    return _code_page(request, victim, waiting=waiting)


@router.post("/preferences/phone/code", response_class=HTMLResponse)
def confirm_code(
    request: Request,
    victim: PostingVictim,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    code: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    if victim.phone is None or victim.phone_verified:
        return RedirectResponse(PREFERENCES, status_code=303)
    now = clock()
    t = i18n.translations(page_language(request, victim))
    try:
        verification.confirm_code(
            session=session, settings=settings, victim=victim, code=code, now=now
        )
    except verification.VerificationRefused as exc:
        if exc.reason == "expired":
            error = t.gettext("This code has expired. Ask for a new code below.")
        elif verification.code_waiting(session=session, victim=victim, now=now):
            error = t.gettext("That code is not right. Check the text message and try again.")
        else:
            error = t.gettext(
                "This code cannot be used any more, after too many wrong tries. "
                "Ask for a new code below."
            )
        # Answered, not raised: the wrong try counts, so the request's unit of work commits it.
        # The form stays, with the error beside the code they typed.
        return _code_page(request, victim, waiting=True, error=error, status_code=422)
    contact_tasks.reconcile_victim(session=session, settings=settings, victim=victim, now=now)
    return RedirectResponse(f"{PREFERENCES}?phone_confirmed=1", status_code=303)


@router.post("/preferences/phone/resend")
def resend_code(
    victim: PostingVictim,
    session: SessionDep,
    settings: SettingsDep,
    courier: CourierDep,
    clock: ClockDep,
    background: BackgroundTasks,
) -> Response:
    if victim.phone is None or victim.phone_verified:
        return RedirectResponse(PREFERENCES, status_code=303)
    # The page says "a new code, only the newest works" only when an earlier one exists, and
    # says so when nothing was sent because the code sent a moment ago is still the one.
    replaces = verification.code_sent_before(session=session, victim=victim)
    sent = _send(
        session=session,
        settings=settings,
        courier=courier,
        background=background,
        victim=victim,
        kind=ContactKind.PHONE,
        now=clock(),
    )
    if not sent:
        return RedirectResponse(f"{PHONE_CODE}?recent=1", status_code=303)
    return RedirectResponse(f"{PHONE_CODE}?resent=1" if replaces else PHONE_CODE, status_code=303)
