"""Liaison API for the inquiry queue: the inbox, a thread, triage, assignment, notes, answers,
the supervisor's review of held answers, and logging a phone call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlmodel import col, select

from voice.api_common import NOT_FOUND, Page, get_or_404, page_params, paginate
from voice.auth.deps import CurrentStaff
from voice.database import utcnow
from voice.deps import IdPath, SessionDep, SettingsDep
from voice.disclosure.deps import PolicyDep
from voice.inquiries import answers, intake, service
from voice.inquiries.models import (
    Category,
    Inquiry,
    InquiryAnswer,
    InquiryChannel,
    InquiryStatus,
    Priority,
    ReferralProvider,
)
from voice.inquiries.schemas import (
    AnswerIn,
    AnswerPublic,
    Assignment,
    CallLog,
    CategoryPublic,
    EntryPublic,
    InquiriesPublic,
    InquiryPublic,
    NoteIn,
    ReviewIn,
    ThreadPublic,
    Triage,
    answer_public,
    categories,
    entry_public,
    inquiry_public,
)
from voice.messages.gate import ReviewError

router = APIRouter(prefix="/api/v1/inquiries", tags=["inquiries"])

_REFUSED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"description": "not allowed in the inquiry's present state"},
    422: {"description": "the answer cannot be written as asked"},
}


def _refused(exc: Exception) -> HTTPException:
    if isinstance(exc, LookupError):
        return HTTPException(status_code=404, detail=str(exc))
    if isinstance(exc, answers.AnswerError):
        return HTTPException(status_code=422, detail=str(exc))
    return HTTPException(status_code=409, detail=str(exc))


@router.get("", summary="The inbox: open inquiries, safety concerns and oldest first")
def list_inquiries(
    session: SessionDep,
    settings: SettingsDep,
    page: Annotated[Page, Depends(page_params)],
    status: InquiryStatus | None = None,
    category: Category | None = None,
    channel: InquiryChannel | None = None,
    priority: Priority | None = None,
    assigned_to: Annotated[str | None, Query(max_length=200)] = None,
    breached: bool | None = None,
    include_closed: bool = False,
) -> InquiriesPublic:
    query = select(Inquiry)
    if status is not None:
        query = query.where(Inquiry.status == status)
    elif not include_closed:
        query = query.where(Inquiry.status != InquiryStatus.CLOSED)
    for column, value in (
        (Inquiry.category, category),
        (Inquiry.channel, channel),
        (Inquiry.priority, priority),
        (Inquiry.assigned_to, assigned_to),
    ):
        if value is not None:
            query = query.where(column == value)
    if breached is not None:
        either = col(Inquiry.first_response_breached) | col(Inquiry.resolution_breached)
        query = query.where(either if breached else ~either)
    query = query.order_by(
        col(Inquiry.priority_rank), col(Inquiry.first_response_due), col(Inquiry.id)
    )
    rows, count = paginate(session, query, page)
    now = utcnow()
    return InquiriesPublic(data=[inquiry_public(i, settings, now) for i in rows], count=count)


@router.get("/categories", summary="Categories, their default priority and service levels")
def list_categories() -> list[CategoryPublic]:
    return categories()


@router.post("/calls", status_code=201, responses=_REFUSED, summary="Log a phone call")
def log_call(
    body: CallLog, session: SessionDep, settings: SettingsDep, staff: CurrentStaff
) -> InquiryPublic:
    try:
        inquiry = intake.log_call(
            session=session,
            settings=settings,
            staff=staff.subject,
            summary=body.summary,
            category=body.category,
            victim_id=body.victim_id,
            case_id=body.case_id,
            caller_phone=body.caller_phone,
            caller_email=body.caller_email,
            caller_name=body.caller_name,
            language=body.language,
        )
    except service.InquiryError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return inquiry_public(inquiry, settings, utcnow())


def thread(session: SessionDep, settings: SettingsDep, inquiry: Inquiry) -> ThreadPublic:
    assert inquiry.id is not None
    given = session.exec(
        select(InquiryAnswer)
        .where(InquiryAnswer.inquiry_id == inquiry.id)
        .order_by(col(InquiryAnswer.id))
    ).all()
    return ThreadPublic(
        inquiry=inquiry_public(inquiry, settings, utcnow()),
        entries=[entry_public(e) for e in service.entries(session=session, inquiry_id=inquiry.id)],
        answers=[answer_public(a) for a in given],
    )


@router.get("/{inquiry_id}", responses=NOT_FOUND, summary="An inquiry's thread")
def get_thread(inquiry_id: IdPath, session: SessionDep, settings: SettingsDep) -> ThreadPublic:
    return thread(session, settings, get_or_404(session, Inquiry, inquiry_id, "inquiry"))


@router.patch("/{inquiry_id}", responses=_REFUSED, summary="Triage: category, priority, case")
def triage(
    inquiry_id: IdPath, body: Triage, session: SessionDep, settings: SettingsDep
) -> InquiryPublic:
    inquiry = get_or_404(session, Inquiry, inquiry_id, "inquiry")
    try:
        service.triage(
            session=session,
            settings=settings,
            inquiry=inquiry,
            category=body.category,
            priority=body.priority,
            case_id=body.case_id,
        )
    except service.InquiryError as exc:
        raise _refused(exc) from exc
    return inquiry_public(inquiry, settings, utcnow())


@router.post("/{inquiry_id}/assign", responses=_REFUSED, summary="Assign to a member of staff")
def assign(
    inquiry_id: IdPath, body: Assignment, session: SessionDep, settings: SettingsDep
) -> InquiryPublic:
    inquiry = get_or_404(session, Inquiry, inquiry_id, "inquiry")
    try:
        service.assign(session=session, inquiry=inquiry, assignee=body.assignee)
    except service.InquiryError as exc:
        raise _refused(exc) from exc
    return inquiry_public(inquiry, settings, utcnow())


@router.post(
    "/{inquiry_id}/notes",
    status_code=201,
    responses=NOT_FOUND,
    summary="Add an internal note (never released)",
)
def add_note(
    inquiry_id: IdPath, body: NoteIn, session: SessionDep, staff: CurrentStaff
) -> EntryPublic:
    inquiry = get_or_404(session, Inquiry, inquiry_id, "inquiry")
    try:
        entry = service.note(session=session, inquiry=inquiry, body=body.body, author=staff.subject)
    except service.InquiryError as exc:
        raise _refused(exc) from exc
    return entry_public(entry)


@router.post(
    "/{inquiry_id}/answers",
    status_code=201,
    responses=_REFUSED,
    summary="Answer: scanned; held for a supervisor on a finding; else sent by the worker",
)
def answer(
    inquiry_id: IdPath,
    body: AnswerIn,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    staff: CurrentStaff,
) -> AnswerPublic:
    inquiry = get_or_404(session, Inquiry, inquiry_id, "inquiry")
    referral = (
        get_or_404(session, ReferralProvider, body.referral_id, "referral provider")
        if body.referral_id is not None
        else None
    )
    try:
        given = answers.submit(
            session=session,
            settings=settings,
            policy=policy,
            inquiry=inquiry,
            author=staff.subject,
            body=body.body,
            template_key=body.template_key,
            language=body.language,
            referral=referral,
            awaits_victim=body.awaits_victim,
        )
    except (service.InquiryError, answers.AnswerError) as exc:
        raise _refused(exc) from exc
    return answer_public(given)


@router.post("/{inquiry_id}/close", responses=_REFUSED, summary="Close the inquiry")
def close(inquiry_id: IdPath, session: SessionDep, settings: SettingsDep) -> InquiryPublic:
    inquiry = get_or_404(session, Inquiry, inquiry_id, "inquiry")
    try:
        service.close(session=session, inquiry=inquiry)
    except service.InquiryError as exc:
        raise _refused(exc) from exc
    return inquiry_public(inquiry, settings, utcnow())


def _review(
    answer_id: int,
    body: ReviewIn,
    session: SessionDep,
    policy: PolicyDep,
    staff: CurrentStaff,
    *,
    approve: bool,
) -> AnswerPublic:
    try:
        reviewed = answers.review(
            session=session,
            policy=policy,
            answer_id=answer_id,
            supervisor=staff.subject,
            approve=approve,
            note=body.note,
        )
    except (LookupError, ReviewError) as exc:
        raise _refused(exc) from exc
    return answer_public(reviewed)


@router.post("/answers/{answer_id}/approve", responses=_REFUSED, summary="Let a held answer go")
def approve_answer(
    answer_id: IdPath, body: ReviewIn, session: SessionDep, policy: PolicyDep, staff: CurrentStaff
) -> AnswerPublic:
    return _review(answer_id, body, session, policy, staff, approve=True)


@router.post("/answers/{answer_id}/reject", responses=_REFUSED, summary="Stop a held answer")
def reject_answer(
    answer_id: IdPath, body: ReviewIn, session: SessionDep, policy: PolicyDep, staff: CurrentStaff
) -> AnswerPublic:
    return _review(answer_id, body, session, policy, staff, approve=False)
