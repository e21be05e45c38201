"""Security staff's page: the spillage quarantine, its alerts, and purge.

A quarantined event is only an id, a hash and the rule that caught it; the page shows nothing
more, because nothing more is kept (voice/ingest/quarantine.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from voice.auth.deps import CurrentStaff
from voice.deps import SessionDep
from voice.ingest import quarantine
from voice.ingest.models import SecurityAlert
from voice.portal.rendering import NavPage, nav_page, render

router = APIRouter(prefix="/portal/security", include_in_schema=False)

PAGES: tuple[NavPage, ...] = (nav_page("Spillage quarantine", "/portal/security"),)

RECENT_ALERTS = 50


@router.get("", response_class=HTMLResponse)
def security_page(
    request: Request, session: SessionDep, staff: CurrentStaff, purged: str = ""
) -> HTMLResponse:
    alerts = session.exec(
        select(SecurityAlert).order_by(col(SecurityAlert.id).desc()).limit(RECENT_ALERTS)
    ).all()
    return render(
        request,
        "ops/security.html",
        {
            "staff": staff,
            "rows": quarantine.list_quarantine(session=session),
            "alerts": alerts,
            "purged": purged[:36],
        },
    )


@router.post("/quarantine/{quarantine_id}/purge", response_class=HTMLResponse)
def purge(
    request: Request,
    quarantine_id: Annotated[str, Path(max_length=36)],
    session: SessionDep,
    staff: CurrentStaff,
) -> Response:
    if not quarantine.purge(session=session, quarantine_id=quarantine_id, purged_by=staff.subject):
        return render(
            request,
            "ops/security.html",
            {
                "staff": staff,
                "rows": quarantine.list_quarantine(session=session),
                "alerts": [],
                "error": "That quarantined event is gone: it was purged already.",
            },
            status_code=404,
        )
    return RedirectResponse(f"/portal/security?purged={quarantine_id}", status_code=303)
