"""The staff portal: server-rendered pages for liaison staff."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import col, select

from voice.cases import service as case_service
from voice.cases.models import Subject
from voice.config import Environment
from voice.deps import PolicyDep, SessionDep, SettingsDep, ValidCase
from voice.disclosure import holds
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import disclose
from voice.disclosure.records import case_record
from voice.victims.models import VictimCaseLink

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
PAGE_SIZE = 50

router = APIRouter(prefix="/portal", include_in_schema=False)


def current_staff(request: Request, settings: SettingsDep) -> dict[str, str]:
    staff: dict[str, str] | None = request.session.get("staff")
    if staff is not None:
        return staff
    if settings.environment is Environment.DEVELOPMENT:
        raise HTTPException(status_code=303, headers={"Location": "/portal/dev-sign-in"})
    raise HTTPException(status_code=401, detail="staff sign-in is required")


StaffDep = Annotated[dict[str, str], Depends(current_staff)]


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/dev-sign-in", response_class=HTMLResponse)
def dev_sign_in_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    if settings.environment is not Environment.DEVELOPMENT:
        raise HTTPException(status_code=404, detail="not available")
    return _render(request, "dev_sign_in.html", {"staff": None})


@router.post("/dev-sign-in")
def dev_sign_in(
    request: Request, settings: SettingsDep, name: Annotated[str, Form(max_length=100)]
) -> Response:
    # A stand-in for the identity provider, for the embedded demo only.
    if settings.environment is not Environment.DEVELOPMENT:
        raise HTTPException(status_code=404, detail="not available")
    request.session["staff"] = {"name": name.strip() or "Demo liaison", "role": "liaison"}
    return RedirectResponse("/portal/cases", status_code=303)


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/portal/cases", status_code=303)


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    rows = case_service.list_cases(
        session=session, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1
    )
    return _render(
        request,
        "cases.html",
        {
            "staff": staff,
            "rows": rows[:PAGE_SIZE],
            "page": page,
            "has_next": len(rows) > PAGE_SIZE,
        },
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request, case: ValidCase, session: SessionDep, policy: PolicyDep, staff: StaffDep
) -> HTMLResponse:
    assert case.id is not None
    subject = session.get_one(Subject, case.subject_id)
    held = holds.is_held(session=session, case_id=case.id)
    victim_view = disclose(
        case_record(subject, case, safety_hold=held),
        audience=Audience.VICTIM_VERIFIED,
        policy=policy,
    )
    links = session.exec(
        select(VictimCaseLink)
        .where(VictimCaseLink.case_id == case.id)
        .order_by(col(VictimCaseLink.id))
    ).all()
    return _render(
        request,
        "case.html",
        {
            "staff": staff,
            "case": case,
            "subject": subject,
            "events": case_service.case_timeline(session=session, case_id=case.id),
            "victim_view": victim_view,
            "links": links,
            "holds": [h for h in holds.list_holds(session=session) if h.case_id == case.id],
        },
    )
