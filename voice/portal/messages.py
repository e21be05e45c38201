"""Staff messages in the portal: compose one to a registrant, and the supervisors' review queue.

The outbound scan (voice/messages/scan.py) runs on submit; its findings are shown inline, as
kinds and positions within the text the staff member typed, and a message with any finding
waits at /portal/messages/review for a supervisor other than its author.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from voice.auth.deps import CurrentStaff
from voice.cases.models import Case
from voice.deps import IdPath, SessionDep
from voice.messages import gate
from voice.messages.models import StaffMessage
from voice.portal.rendering import NavPage, nav_page, render
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink

router = APIRouter(prefix="/portal/messages", include_in_schema=False)

PAGES: tuple[NavPage, ...] = (
    nav_page("Write a message", "/portal/messages/new"),
    nav_page("Messages to review", "/portal/messages/review"),
)

KIND_LABELS = {
    "ssn": "Social Security number",
    "a_number": "A-number",
    "phone": "Phone number",
    "email": "Email address",
    "date_of_birth": "Date of birth",
    "street_address": "Street address",
    "portion_mark": "Portion mark",
}
CHANNELS = (("email", "Email"), ("sms", "Text message (SMS)"))


def segments(body: str, findings: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """The body cut into plain runs and flagged runs, for showing the findings in place.

    Findings may nest (a portion mark spans its line); the outermost one flags the run, and
    every finding is listed on its own as well.
    """
    parts: list[tuple[str, str | None]] = []
    at = 0
    for finding in sorted(findings, key=lambda f: (int(f["start"]), -int(f["end"]))):
        start, end = int(finding["start"]), int(finding["end"])
        if start < at or end > len(body) or start >= end:
            continue
        if start > at:
            parts.append((body[at:start], None))
        parts.append((body[start:end], str(finding["kind"])))
        at = end
    if at < len(body):
        parts.append((body[at:], None))
    return parts


def _recipients(session: Session) -> list[tuple[int, str]]:
    """Verified links of active registrants, as (link id, label) for the recipient picker."""
    rows = session.exec(
        select(VictimCaseLink, Victim, Case)
        .join(Victim, col(Victim.id) == col(VictimCaseLink.victim_id))
        .join(Case, col(Case.id) == col(VictimCaseLink.case_id))
        .where(
            VictimCaseLink.verification_status == VerificationStatus.VERIFIED,
            col(Victim.active).is_(True),
        )
        .order_by(col(Case.case_number), col(VictimCaseLink.id))
    ).all()
    return [
        (
            link.id or 0,
            f"{victim.last_name}, {victim.first_name} ({link.relationship.replace('_', ' ')})"
            f" on {case.case_number or f'case #{case.id}'}",
        )
        for link, victim, case in rows
    ]


def _message_context(session: Session, message: StaffMessage) -> dict[str, Any]:
    link = session.get_one(VictimCaseLink, message.link_id)
    victim = session.get_one(Victim, link.victim_id)
    case = session.get_one(Case, message.case_id)
    return {
        "message": message,
        "recipient": f"{victim.first_name} {victim.last_name}",
        "case": case,
        "segments": segments(message.body, message.findings),
        "kind_labels": KIND_LABELS,
    }


def _get_message(session: Session, message_id: int) -> StaffMessage:
    message = session.get(StaffMessage, message_id)
    if message is None:
        raise HTTPException(status_code=404, detail="no such message")
    return message


def _compose(
    request: Request,
    session: Session,
    staff: Any,
    *,
    link_id: int | None,
    channel: str = "email",
    body: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "ops/message_new.html",
        {
            "staff": staff,
            "recipients": _recipients(session),
            "link_id": link_id,
            "channel": channel,
            "channels": CHANNELS,
            "body": body,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/new", response_class=HTMLResponse)
def new_message(
    request: Request,
    session: SessionDep,
    staff: CurrentStaff,
    link_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> HTMLResponse:
    return _compose(request, session, staff, link_id=link_id)


@router.post("", response_class=HTMLResponse)
def submit_message(
    request: Request,
    session: SessionDep,
    staff: CurrentStaff,
    link_id: Annotated[int, Form(ge=1, le=2_147_483_647)],
    body: Annotated[str, Form(max_length=5000)] = "",
    channel: Annotated[str, Form(max_length=8)] = "email",
) -> Response:
    link = session.get(VictimCaseLink, link_id)
    if link is None or link.verification_status != VerificationStatus.VERIFIED:
        return _compose(
            request, session, staff, link_id=None, channel=channel, body=body,
            error="Choose a registrant whose link to the case is verified.", status_code=422,
        )  # fmt: skip
    try:
        message = gate.submit(
            session=session, link_id=link_id, body=body, author=staff.subject, channel=channel
        )
    except gate.ReviewError:
        return _compose(
            request, session, staff, link_id=link_id, channel=channel, body=body,
            error="Write the message, and send it by email or text message.", status_code=422,
        )  # fmt: skip
    return RedirectResponse(f"/portal/messages/{message.id}", status_code=303)


@router.get("/review", response_class=HTMLResponse)
def review_queue(request: Request, session: SessionDep, staff: CurrentStaff) -> HTMLResponse:
    held = session.exec(
        select(StaffMessage)
        .where(StaffMessage.status == gate.MessageStatus.HELD)
        .order_by(col(StaffMessage.created_at), col(StaffMessage.id))
    ).all()
    return render(
        request,
        "ops/message_review.html",
        {"staff": staff, "items": [_message_context(session, m) for m in held]},
    )


@router.get("/{message_id}", response_class=HTMLResponse)
def message_page(
    request: Request, message_id: IdPath, session: SessionDep, staff: CurrentStaff
) -> HTMLResponse:
    message = _get_message(session, message_id)
    return render(
        request, "ops/message.html", {"staff": staff, **_message_context(session, message)}
    )


def _review(
    request: Request,
    session: Session,
    staff: Any,
    message_id: int,
    *,
    approve: bool,
    note: str,
) -> Response:
    message = _get_message(session, message_id)
    status_code = 409
    if not approve and not note.strip():
        error = "Give the reason for rejecting the message: its author reads it."
        status_code = 422
    else:
        decide = gate.approve if approve else gate.reject
        try:
            decide(session=session, message_id=message_id, supervisor=staff.subject, note=note)
        except gate.ReviewError:
            error = (
                "You wrote this message: another supervisor must review it."
                if message.author == staff.subject
                else "This message is no longer waiting for review."
            )
        else:
            return RedirectResponse(f"/portal/messages/{message_id}", status_code=303)
    context = {"staff": staff, "error": error, **_message_context(session, message)}
    return render(request, "ops/message.html", context, status_code=status_code)


@router.post("/{message_id}/approve", response_class=HTMLResponse)
def approve_message(
    request: Request,
    message_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    return _review(request, session, staff, message_id, approve=True, note=note)


@router.post("/{message_id}/reject", response_class=HTMLResponse)
def reject_message(
    request: Request,
    message_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    return _review(request, session, staff, message_id, approve=False, note=reason)
