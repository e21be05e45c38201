"""Logging a phone call in the portal: who called (a registrant found by the search box, or a
caller who gave a name and a number to call back), what about, and the case when there is one.

The inquiry is opened by the same service as ``POST /api/v1/inquiries/calls``. Showing a
registrant's name here opens their personal data, so it is recorded in the access log, as the
search page and the registrant's page record it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from voice.auth.deps import CurrentStaff
from voice.auth.principals import Principal
from voice.cases.models import Case
from voice.deps import SessionDep, SettingsDep
from voice.inquiries import intake, service
from voice.inquiries.models import Category
from voice.portal import finder
from voice.portal.layout import render
from voice.victims.access_log import AccessPurpose, record_access
from voice.victims.contact_input import ContactInvalid, phone_e164
from voice.victims.models import Victim

router = APIRouter(prefix="/portal/inquiries", include_in_schema=False)

LANGUAGES = [("en", "English"), ("es", "Spanish")]
CATEGORY_OPTIONS = [("", "Choose a category")] + [
    (c.value, c.value.replace("_", " ").capitalize()) for c in Category
]
OptionalId = Annotated[str, Form(max_length=12)]


def _caller(session: Session, staff: Principal, victim_id: int | None) -> Victim | None:
    if victim_id is None:
        return None
    victim = session.get(Victim, victim_id)
    if victim is None or not victim.active:
        return None
    assert victim.id is not None
    record_access(session=session, staff=staff, victim_id=victim.id, purpose=AccessPurpose.VIEW)
    return victim


def _case_options(session: Session, victim: Victim | None) -> list[tuple[str, str]]:
    """The cases a call can be about: the identified registrant's verified links only."""
    if victim is None or victim.id is None:
        return []
    ids = [link.case_id for link in service.verified_links(session, victim.id)]
    cases = session.exec(select(Case).where(col(Case.id).in_(ids)).order_by(col(Case.id))).all()
    return [("", "No particular case")] + [
        (str(c.id), c.case_number or f"Case #{c.id}") for c in cases
    ]


def _form(
    request: Request,
    *,
    session: Session,
    staff: Principal,
    victim: Victim | None,
    q: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    hits: list[finder.RegistrantHit] = []
    if q and victim is None:
        hits = [h for h in finder.find_registrants(session=session, query=q) if h.victim.active]
        for hit in hits:
            assert hit.victim.id is not None
            record_access(
                session=session, staff=staff, victim_id=hit.victim.id, purpose=AccessPurpose.SEARCH
            )
    context: dict[str, Any] = {
        "staff": staff,
        "victim": victim,
        "q": q,
        "hits": hits,
        "case_options": _case_options(session, victim),
        "category_options": CATEGORY_OPTIONS,
        "language_options": LANGUAGES,
        "values": values or {},
        "errors": errors or {},
    }
    return render(request, "inquiry_call.html", context, status_code=status_code)


@router.get("/calls/new", response_class=HTMLResponse)
def call_form(
    request: Request,
    session: SessionDep,
    staff: CurrentStaff,
    victim_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    victim = _caller(session, staff, victim_id)
    return _form(request, session=session, staff=staff, victim=victim, q=q.strip())


@router.post("/calls", response_model=None)
def log_call(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    staff: CurrentStaff,
    summary: Annotated[str, Form(max_length=10_000)] = "",
    category: Annotated[str, Form(max_length=32)] = "",
    victim_id: OptionalId = "",
    case_id: OptionalId = "",
    caller_name: Annotated[str, Form(max_length=200)] = "",
    caller_phone: Annotated[str, Form(max_length=40)] = "",
    language: Annotated[str, Form(max_length=8)] = "en",
) -> Response:
    victim = _caller(session, staff, int(victim_id) if victim_id.isdigit() else None)
    values = {
        "summary": summary,
        "category": category,
        "case_id": case_id,
        "caller_name": caller_name,
        "caller_phone": caller_phone,
        "language": language,
    }
    errors: dict[str, str] = {}
    if category not in Category.__members__.values():
        errors["category"] = "Choose what the call was about."
    if not summary.strip():
        errors["summary"] = "Write what the caller asked or told you."
    if language not in dict(LANGUAGES):
        errors["language"] = "Choose English or Spanish."
    phone = None
    if caller_phone.strip():
        try:
            phone = phone_e164(caller_phone)
        except ContactInvalid as exc:
            errors["caller_phone"] = str(exc)
    if victim_id and victim is None:
        errors["caller"] = "That registrant is not active any more. Find the caller again."
    if not errors:
        try:
            inquiry = intake.log_call(
                session=session,
                settings=settings,
                staff=staff.subject,
                summary=summary,
                category=Category(category),
                victim_id=victim.id if victim is not None else None,
                case_id=int(case_id) if case_id.isdigit() else None,
                caller_phone=phone,
                caller_name=caller_name,
                language=language,
            )
        except service.InquiryError as exc:
            errors["case_id"] = str(exc).capitalize() + "."
        else:
            return RedirectResponse(
                f"/portal/inquiries/{inquiry.id}?done=call-logged", status_code=303
            )
    return _form(
        request,
        session=session,
        staff=staff,
        victim=victim,
        values=values,
        errors=errors,
        status_code=422,
    )
