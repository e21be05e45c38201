"""The mass-event guard's pauses, for supervisors: what a pause holds, then release or cancel.

A sample of a pause's notices shows the case, the event type, the channel and when it was
queued: enough to tell a real burst from a feed error, and nothing about the recipients.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, func, select

from voice.auth.deps import CurrentStaff
from voice.cases.models import Case, CaseEvent
from voice.deps import IdPath, SessionDep
from voice.notify import guard
from voice.notify.models import MassEventPause, Notification, PauseStatus
from voice.portal.rendering import NavPage, nav_page, render

router = APIRouter(prefix="/portal/guard", include_in_schema=False)

PAGES: tuple[NavPage, ...] = (nav_page("Mass-event guard", "/portal/guard"),)

SAMPLE_SIZE = 20
RECENT_DECIDED = 20


def _sample(session: Session, pause_id: int) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Notification, CaseEvent, Case)
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .join(Case, col(Case.id) == col(CaseEvent.case_id))
        .where(Notification.pause_id == pause_id)
        .order_by(col(Notification.id))
        .limit(SAMPLE_SIZE)
    ).all()
    return [
        {
            "id": notice.id,
            "case_id": case.id,
            "case_number": case.case_number or f"#{case.id}",
            "event_type": event.event_type,
            "occurred_at": event.occurred_at,
            "channel": notice.channel,
            "status": notice.status,
            "created_at": notice.created_at,
        }
        for notice, event, case in rows
    ]


def _by_status(session: Session, pause_id: int) -> dict[str, int]:
    rows = session.exec(
        select(Notification.status, func.count())
        .where(Notification.pause_id == pause_id)
        .group_by(col(Notification.status))
    ).all()
    return dict(sorted(rows))


def _pause(session: Session, pause_id: int) -> MassEventPause:
    pause = session.get(MassEventPause, pause_id)
    if pause is None:
        raise HTTPException(status_code=404, detail="no such pause")
    return pause


@router.get("", response_class=HTMLResponse)
def pauses_page(request: Request, session: SessionDep, staff: CurrentStaff) -> HTMLResponse:
    open_pauses = [
        (summary, _sample(session, summary.id)) for summary in guard.list_pauses(session=session)
    ]
    decided = session.exec(
        select(MassEventPause)
        .where(MassEventPause.status != PauseStatus.OPEN)
        .order_by(col(MassEventPause.id).desc())
        .limit(RECENT_DECIDED)
    ).all()
    return render(
        request,
        "ops/guard.html",
        {"staff": staff, "open_pauses": open_pauses, "decided": decided},
    )


@router.get("/{pause_id}", response_class=HTMLResponse)
def pause_page(
    request: Request, pause_id: IdPath, session: SessionDep, staff: CurrentStaff
) -> HTMLResponse:
    pause = _pause(session, pause_id)
    return render(
        request,
        "ops/guard_pause.html",
        {
            "staff": staff,
            "pause": pause,
            "summary": guard.summarise(session=session, pause=pause),
            "by_status": _by_status(session, pause_id),
            "sample": _sample(session, pause_id),
        },
    )


def _decide(
    request: Request, session: Session, staff: Any, pause_id: int, *, release: bool
) -> Response:
    _pause(session, pause_id)
    act = guard.release if release else guard.cancel
    try:
        act(session=session, pause_id=pause_id, by=staff.subject)
    except guard.PauseNotOpen:
        pause = _pause(session, pause_id)
        return render(
            request,
            "ops/guard_pause.html",
            {
                "staff": staff,
                "pause": pause,
                "summary": guard.summarise(session=session, pause=pause),
                "by_status": _by_status(session, pause_id),
                "sample": _sample(session, pause_id),
                "error": "This pause was already decided.",
            },
            status_code=409,
        )
    return RedirectResponse(f"/portal/guard/{pause_id}", status_code=303)


@router.post("/{pause_id}/release", response_class=HTMLResponse)
def release_pause(
    request: Request, pause_id: IdPath, session: SessionDep, staff: CurrentStaff
) -> Response:
    return _decide(request, session, staff, pause_id, release=True)


@router.post("/{pause_id}/cancel", response_class=HTMLResponse)
def cancel_pause(
    request: Request, pause_id: IdPath, session: SessionDep, staff: CurrentStaff
) -> Response:
    return _decide(request, session, staff, pause_id, release=False)
