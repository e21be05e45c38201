"""The portal's inquiry pages: the inbox with filters and timers, an inquiry's thread, and the
forms that assign, note, answer (from a template or in free text), close, and review a held
answer. Plain forms that post and redirect back, so nothing needs JavaScript."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from voice.api_common import get_or_404
from voice.auth.access import csrf_token
from voice.auth.deps import CurrentStaff
from voice.auth.principals import Role
from voice.database import utcnow
from voice.deps import IdPath, SessionDep, SettingsDep
from voice.disclosure.deps import PolicyDep
from voice.inquiries import answers, directory, service
from voice.inquiries.models import (
    Category,
    Inquiry,
    InquiryAnswer,
    InquiryChannel,
    InquiryStatus,
    ReferralProvider,
)
from voice.inquiries.schemas import answer_public, inquiry_public
from voice.messages.gate import ReviewError
from voice.portal.layout import TEMPLATES

router = APIRouter(prefix="/portal/inquiries", include_in_schema=False)

PAGE_SIZE = 50
# What the thread says after a form elsewhere: a fixed set, so a link cannot put words there.
DONE = {"call-logged": "The call is logged. It is in the inbox as this inquiry."}
Text = Annotated[str, Form(max_length=5_000)]


def _options(values: list[str], blank: str) -> list[tuple[str, str]]:
    return [("", blank)] + [(v, v.replace("_", " ")) for v in values]


def _render(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    context = {"csrf_token": csrf_token(request), **context}
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status)


@router.get("", response_class=HTMLResponse)
def inbox(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    staff: CurrentStaff,
    status: Annotated[str, Query(max_length=32)] = "",
    category: Annotated[str, Query(max_length=32)] = "",
    channel: Annotated[str, Query(max_length=32)] = "",
    mine: bool = False,
    overdue: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    # The filter form sends every field, empty for "any": an empty or unknown value filters
    # nothing rather than refusing the page.
    status = status if status in InquiryStatus.__members__.values() else ""
    category = category if category in Category.__members__.values() else ""
    channel = channel if channel in InquiryChannel.__members__.values() else ""
    query = select(Inquiry)
    query = query.where(
        Inquiry.status == status if status else Inquiry.status != InquiryStatus.CLOSED
    )
    if category:
        query = query.where(Inquiry.category == category)
    if channel:
        query = query.where(Inquiry.channel == channel)
    if mine:
        query = query.where(Inquiry.assigned_to == staff.subject)
    now = utcnow()
    if overdue:
        # Past the target whose clock is running, before the worker's scan has flagged it.
        query = query.where(
            sa.or_(
                sa.and_(
                    col(Inquiry.first_responded_at).is_(None), col(Inquiry.first_response_due) < now
                ),
                sa.and_(col(Inquiry.resolved_at).is_(None), col(Inquiry.resolution_due) < now),
            )
        )
    rows = session.exec(
        query.order_by(col(Inquiry.priority_rank), col(Inquiry.first_response_due), col(Inquiry.id))
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    ).all()
    filters = {
        "status": status,
        "category": category,
        "channel": channel,
        "mine": mine,
        "overdue": overdue,
    }
    # The page links keep the filters: the next page is of the same list.
    kept = urlencode(
        {
            name: str(value).lower() if isinstance(value, bool) else value
            for name, value in filters.items()
            if value
        }
    )
    return _render(
        request,
        "inquiries.html",
        {
            "staff": staff,
            "rows": [inquiry_public(i, settings, now) for i in rows[:PAGE_SIZE]],
            "page": page,
            "has_next": len(rows) > PAGE_SIZE,
            "page_href": f"?{kept}&page=" if kept else "?page=",
            "filters": filters,
            "status_options": _options([s.value for s in InquiryStatus], "Open (any)"),
            "category_options": _options([c.value for c in Category], "Any category"),
            "channel_options": _options([c.value for c in InquiryChannel], "Any channel"),
        },
    )


@router.get("/{inquiry_id}", response_class=HTMLResponse)
def thread_page(
    request: Request,
    inquiry_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    staff: CurrentStaff,
    error: Annotated[str | None, Query(max_length=300)] = None,
    done: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    inquiry = get_or_404(session, Inquiry, inquiry_id, "inquiry")
    given = session.exec(
        select(InquiryAnswer)
        .where(InquiryAnswer.inquiry_id == inquiry_id)
        .order_by(col(InquiryAnswer.id))
    ).all()
    language = inquiry.language
    templates = directory.templates(session=session, language=language)
    return _render(
        request,
        "inquiry.html",
        {
            "staff": staff,
            "inquiry": inquiry_public(inquiry, settings, utcnow()),
            "entries": service.entries(session=session, inquiry_id=inquiry_id),
            "answers": [answer_public(a) for a in given],
            "template_options": [("", "Write my own")] + [(t.key, t.title) for t in templates],
            "referral_options": [("", "No referral")]
            + [
                (str(p.id), f"{p.name} ({p.area_served})")
                for p in directory.referrals(session=session)
            ],
            "category_options": [(c.value, c.value.replace("_", " ")) for c in Category],
            "is_supervisor": Role.SUPERVISOR in staff.roles,
            "error": error,
            "done": DONE.get(done),
        },
    )


def _back(inquiry_id: int, error: str | None = None) -> RedirectResponse:
    url = f"/portal/inquiries/{inquiry_id}"
    if error:
        url += "?" + urlencode({"error": error[:300]})
    return RedirectResponse(url, status_code=303)


@router.post("/{inquiry_id}/assign")
def assign(
    inquiry_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    assignee: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    inquiry = get_or_404(session, Inquiry, inquiry_id, "inquiry")
    try:
        service.assign(session=session, inquiry=inquiry, assignee=assignee or staff.subject)
    except service.InquiryError as exc:
        return _back(inquiry_id, str(exc))
    return _back(inquiry_id)


@router.post("/{inquiry_id}/triage")
def triage(
    inquiry_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    category: Annotated[Category, Form()],
) -> Response:
    inquiry = get_or_404(session, Inquiry, inquiry_id, "inquiry")
    try:
        service.triage(session=session, settings=settings, inquiry=inquiry, category=category)
    except service.InquiryError as exc:
        return _back(inquiry_id, str(exc))
    return _back(inquiry_id)


@router.post("/{inquiry_id}/notes")
def add_note(inquiry_id: IdPath, session: SessionDep, staff: CurrentStaff, body: Text) -> Response:
    inquiry = get_or_404(session, Inquiry, inquiry_id, "inquiry")
    try:
        service.note(session=session, inquiry=inquiry, body=body, author=staff.subject)
    except service.InquiryError as exc:
        return _back(inquiry_id, str(exc))
    return _back(inquiry_id)


@router.post("/{inquiry_id}/answers")
def answer(
    inquiry_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    staff: CurrentStaff,
    body: Text = "",
    template_key: Annotated[str, Form(max_length=64)] = "",
    referral_id: Annotated[str, Form(max_length=12)] = "",
    awaits_victim: Annotated[bool, Form()] = False,
) -> Response:
    inquiry = get_or_404(session, Inquiry, inquiry_id, "inquiry")
    referral = session.get(ReferralProvider, int(referral_id)) if referral_id.isdigit() else None
    try:
        answers.submit(
            session=session,
            settings=settings,
            policy=policy,
            inquiry=inquiry,
            author=staff.subject,
            body=body if body.strip() else None,
            template_key=template_key or None,
            referral=referral,
            awaits_victim=awaits_victim,
        )
    except (service.InquiryError, answers.AnswerError) as exc:
        return _back(inquiry_id, str(exc))
    return _back(inquiry_id)


@router.post("/{inquiry_id}/close")
def close(inquiry_id: IdPath, session: SessionDep) -> Response:
    inquiry = get_or_404(session, Inquiry, inquiry_id, "inquiry")
    try:
        service.close(session=session, inquiry=inquiry)
    except service.InquiryError as exc:
        return _back(inquiry_id, str(exc))
    return _back(inquiry_id)


@router.post("/answers/{answer_id}/review")
def review(
    answer_id: IdPath,
    session: SessionDep,
    policy: PolicyDep,
    staff: CurrentStaff,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    note: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    held = get_or_404(session, InquiryAnswer, answer_id, "answer")
    try:
        answers.review(
            session=session,
            policy=policy,
            answer_id=answer_id,
            supervisor=staff.subject,
            approve=decision == "approve",
            note=note,
        )
    except ReviewError as exc:
        return _back(held.inquiry_id, str(exc))
    return _back(held.inquiry_id)
