"""The case list and the case page, with the safety-hold forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from voice.auth.deps import CurrentStaff
from voice.auth.principals import Principal
from voice.cases import service as case_service
from voice.cases.deps import ValidCase
from voice.cases.models import Case, Subject
from voice.deps import IdPath, SessionDep
from voice.disclosure.deps import PolicyDep
from voice.disclosure.policy import Policy
from voice.disclosure.release import Audience, release
from voice.holds import service as holds
from voice.holds.models import SafetyHold
from voice.portal import case_view
from voice.portal.layout import may, render
from voice.victims.access_log import AccessPurpose, record_access

PAGE_SIZE = 50

router = APIRouter(prefix="/portal", include_in_schema=False)


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request,
    session: SessionDep,
    staff: CurrentStaff,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    rows = case_service.list_cases(
        session=session, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1
    )
    context = {"staff": staff, "rows": rows[:PAGE_SIZE], "page": page}
    return render(request, "cases.html", {**context, "has_next": len(rows) > PAGE_SIZE})


def _case_page(
    request: Request,
    *,
    session: Session,
    policy: Policy,
    staff: Principal,
    case: Case,
    hold_form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    assert case.id is not None
    # A staff preview of what a verified victim receives: no recipient, nothing to account for.
    victim_view = release(
        session=session, policy=policy, audience=Audience.VICTIM_VERIFIED, case=case
    )
    registrants = case_view.registrants(session=session, case_id=case.id)
    # Names and contact details show only to roles that may open a registrant's page; each
    # registrant shown so is an open of their personal data.
    show_names = may(staff, "GET", "/portal/registrants/{victim_id}")
    if show_names:
        for linked in registrants:
            assert linked.victim.id is not None
            record_access(
                session=session, staff=staff, victim_id=linked.victim.id, purpose=AccessPurpose.VIEW
            )
    accounting = may(staff, "GET", "/api/v1/cases/{case_id}/disclosures")
    context = {
        "staff": staff,
        "case": case,
        "subject": session.get_one(Subject, case.subject_id),
        "events": case_service.case_timeline(session=session, case_id=case.id),
        "victim_view": victim_view,
        "registrants": registrants,
        "show_names": show_names,
        "notices": case_view.notices(session=session, case_id=case.id),
        "holds": holds.holds_for_case(session=session, case_id=case.id),
        "is_active": holds.is_active,
        "disclosures": case_view.disclosures(session=session, case_id=case.id)
        if accounting
        else None,
        "hold_form": hold_form or {},
        "done": request.query_params.get("done"),
    }
    return render(request, "case.html", context, status_code=status_code)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request, case: ValidCase, session: SessionDep, policy: PolicyDep, staff: CurrentStaff
) -> HTMLResponse:
    return _case_page(request, session=session, policy=policy, staff=staff, case=case)


def _expiry(raw: str) -> datetime:
    # The form's datetime-local control sends "YYYY-MM-DDTHH:MM"; the label says it is UTC.
    return datetime.fromisoformat(raw).replace(tzinfo=UTC)


@router.post("/cases/{case_id}/holds", response_model=None)
def set_hold(
    request: Request,
    case: ValidCase,
    session: SessionDep,
    policy: PolicyDep,
    staff: CurrentStaff,
    reason: Annotated[str, Form(max_length=500)] = "",
    expires_at: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    assert case.id is not None
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = "Enter why the case is on hold."
    expiry = None
    try:
        expiry = _expiry(expires_at)
    except ValueError:
        errors["expires_at"] = "Enter the date and time the hold ends, in UTC."
    if expiry is not None and not errors:
        try:
            holds.set_hold(
                session=session,
                case_id=case.id,
                reason=reason,
                set_by=staff.subject,
                expires_at=expiry,
            )
        except holds.HoldError:
            errors["expires_at"] = "The hold must end in the future."
    if errors:
        form = {"reason": reason, "expires_at": expires_at, "errors": errors}
        return _case_page(
            request,
            session=session,
            policy=policy,
            staff=staff,
            case=case,
            hold_form=form,
            status_code=422,
        )
    return RedirectResponse(f"/portal/cases/{case.id}?done=hold-set#holds-heading", status_code=303)


@router.post("/holds/{hold_id}/lift")
def lift_hold(
    hold_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    note: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    hold = session.get(SafetyHold, hold_id)
    if hold is None:
        raise HTTPException(status_code=404, detail="no such hold")
    try:
        holds.lift_hold(session=session, hold_id=hold_id, lifted_by=staff.subject, note=note)
    except holds.HoldError as exc:
        raise HTTPException(status_code=409, detail="the hold was already lifted") from exc
    return RedirectResponse(
        f"/portal/cases/{hold.case_id}?done=hold-lifted#holds-heading", status_code=303
    )
