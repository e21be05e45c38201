"""Registrant pages: register, look at, and edit a registrant.

Every page here that shows a registrant's personal data records the open in the access log.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from voice.auth.deps import CurrentStaff
from voice.auth.principals import Principal
from voice.cases.models import Case
from voice.database import utcnow
from voice.deps import SessionDep
from voice.portal import registrant_form
from voice.portal.layout import render
from voice.portal.registrant_deps import ValidRegistrant, opted_out
from voice.victims import service as victim_service
from voice.victims.access_log import AccessPurpose, record_access
from voice.victims.api import VerifyingDep
from voice.victims.models import Language, Relationship, Victim, VictimCaseLink
from voice.victims.verification_models import ContactKind

router = APIRouter(prefix="/portal", include_in_schema=False)

FORM_CHOICES = {
    "languages": registrant_form.LANGUAGES,
    "relationships": registrant_form.RELATIONSHIPS,
}


def pin_letter(
    request: Request, *, session: Session, staff: Principal, victim: Victim, pin: str, new: bool
) -> HTMLResponse:
    """The PIN, shown this once, on a page laid out to print as a letter to the registrant."""
    assert victim.id is not None
    record_access(
        session=session, staff=staff, victim_id=victim.id, purpose=AccessPurpose.PIN_LETTER
    )
    context = {"staff": staff, "victim": victim, "pin": pin, "new": new, "today": utcnow()}
    response = render(request, "pin_letter.html", context)
    # The PIN must not be kept by a cache or shown again by the back button.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/registrants/new", response_class=HTMLResponse)
def new_registrant(request: Request, staff: CurrentStaff) -> HTMLResponse:
    form = {"preferred_language": Language.ENGLISH.value, "notify_email": True}
    context = {"staff": staff, "form": form, "errors": {}, **FORM_CHOICES}
    return render(request, "registrant_new.html", context)


@router.post("/registrants", response_class=HTMLResponse)
async def register(
    request: Request, session: SessionDep, staff: CurrentStaff, verifying: VerifyingDep
) -> HTMLResponse:
    raw = await request.form()
    parsed = registrant_form.parse(raw, registering=True)
    values, errors = parsed.values, parsed.errors
    case_number = registrant_form.text(raw, "case_number", 64)
    relationship = registrant_form.text(raw, "relationship", 32) or Relationship.VICTIM.value
    values.update(case_number=case_number, relationship=relationship)
    case = None
    if case_number:
        case = session.exec(select(Case).where(Case.case_number == case_number)).first()
        if case is None:
            errors["case_number"] = "No case has this number. Check it, or leave it empty."
    if relationship not in {r.value for r in Relationship}:
        errors["relationship"] = "Choose how the registrant is connected to the case."
    if errors:
        context = {"staff": staff, "form": values, "errors": errors, **FORM_CHOICES}
        return render(request, "registrant_new.html", context, status_code=422)
    victim, pin = victim_service.register_victim(
        session=session,
        first_name=values["first_name"],
        last_name=values["last_name"],
        language=Language(values["preferred_language"]),
        email=values["email"] or None,
        phone=values["phone"] or None,
        consented_at=utcnow(),
    )
    # A link to each new email address and a code to each new phone number, sent once the
    # registration has committed; staff may instead attest from the registrant's page.
    verifying.challenge(victim)
    if case is not None:
        victim_service.link_victim(
            session=session,
            victim=victim,
            case=case,
            relationship=Relationship(relationship),
            notify_email=values["notify_email"],
            notify_sms=values["notify_sms"],
        )
    return pin_letter(request, session=session, staff=staff, victim=victim, pin=pin, new=True)


def registrant_links(session: Session, victim_id: int) -> list[tuple[VictimCaseLink, Case]]:
    rows = session.exec(
        select(VictimCaseLink, Case)
        .join(Case, col(Case.id) == col(VictimCaseLink.case_id))
        .where(VictimCaseLink.victim_id == victim_id)
        .order_by(col(VictimCaseLink.id))
    ).all()
    return [(link, case) for link, case in rows]


def registrant_page(
    request: Request,
    *,
    session: Session,
    staff: Principal,
    victim: Victim,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    assert victim.id is not None
    record_access(session=session, staff=staff, victim_id=victim.id, purpose=AccessPurpose.VIEW)
    context = {
        "staff": staff,
        "victim": victim,
        "links": registrant_links(session, victim.id),
        "opted_out": opted_out(session=session, victim=victim),
        "done": request.query_params.get("done"),
        **(extra or {}),
    }
    return render(request, "registrant.html", context, status_code=status_code)


@router.get("/registrants/{victim_id}", response_class=HTMLResponse)
def registrant(
    request: Request, victim: ValidRegistrant, session: SessionDep, staff: CurrentStaff
) -> HTMLResponse:
    return registrant_page(request, session=session, staff=staff, victim=victim)


@router.get("/registrants/{victim_id}/edit", response_class=HTMLResponse)
def edit_form(
    request: Request, victim: ValidRegistrant, session: SessionDep, staff: CurrentStaff
) -> HTMLResponse:
    assert victim.id is not None
    record_access(session=session, staff=staff, victim_id=victim.id, purpose=AccessPurpose.EDIT)
    form = {
        "first_name": victim.first_name,
        "last_name": victim.last_name,
        "preferred_language": victim.preferred_language,
        "email": victim.email or "",
        "phone": victim.phone or "",
    }
    context = {"staff": staff, "victim": victim, "form": form, "errors": {}, **FORM_CHOICES}
    return render(request, "registrant_edit.html", context)


@router.post("/registrants/{victim_id}/edit", response_model=None)
async def edit(
    request: Request,
    victim: ValidRegistrant,
    session: SessionDep,
    staff: CurrentStaff,
    verifying: VerifyingDep,
) -> Response:
    assert victim.id is not None
    record_access(session=session, staff=staff, victim_id=victim.id, purpose=AccessPurpose.EDIT)
    parsed = registrant_form.parse(await request.form(), registering=False)
    if not parsed.ok:
        context = {
            "staff": staff,
            "victim": victim,
            "form": parsed.values,
            "errors": parsed.errors,
            **FORM_CHOICES,
        }
        return render(request, "registrant_edit.html", context, status_code=422)
    changes = {k: (v or None) for k, v in parsed.values.items()}
    # Only a changed contact point is challenged: an unrelated edit must not send anything.
    changed = {
        kind
        for kind, old in ((ContactKind.EMAIL, victim.email), (ContactKind.PHONE, victim.phone))
        if changes.get(kind.value) != old
    }
    try:
        victim_service.update_victim(session=session, victim=victim, changes=changes)
    except victim_service.VictimUpdateError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    verifying.challenge(victim, changed)
    return RedirectResponse(f"/portal/registrants/{victim.id}?done=edited", status_code=303)
