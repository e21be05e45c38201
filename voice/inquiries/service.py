"""The inquiry queue: opening an inquiry, triage, assignment, notes, the status machine.

Statuses move new → assigned → awaiting the victim → answered → closed, along ``TRANSITIONS``
only. A safety concern is urgent and alerts the liaison on duty at once (a liaison task, and
the inquiry assigned to them when one is configured). Logs carry ids and codes only.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from voice.config import Settings
from voice.database import utcnow
from voice.inquiries import sla
from voice.inquiries.calendar import BusinessCalendar
from voice.inquiries.models import (
    RANKS,
    Category,
    EntryKind,
    Inquiry,
    InquiryChannel,
    InquiryEntry,
    InquiryStatus,
    Priority,
)
from voice.liaison import service as liaison_service
from voice.liaison.models import TaskKind
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink

log = logging.getLogger(__name__)

S = InquiryStatus
TRANSITIONS: dict[InquiryStatus, frozenset[InquiryStatus]] = {
    S.NEW: frozenset({S.ASSIGNED, S.CLOSED}),
    S.ASSIGNED: frozenset({S.AWAITING_VICTIM, S.ANSWERED, S.CLOSED}),
    # The victim wrote back: the inquiry is someone's work again.
    S.AWAITING_VICTIM: frozenset({S.ASSIGNED, S.ANSWERED, S.CLOSED}),
    S.ANSWERED: frozenset({S.ASSIGNED, S.CLOSED}),
    S.CLOSED: frozenset(),
}
OPEN = tuple(s for s in InquiryStatus if s is not S.CLOSED)


class InquiryError(ValueError):
    """A request the queue refuses: a bad transition, an unknown case, a missing text."""


def move(inquiry: Inquiry, to: InquiryStatus, *, now: datetime) -> None:
    current = InquiryStatus(inquiry.status)
    if to not in TRANSITIONS[current]:
        raise InquiryError(f"an inquiry that is {current.value} cannot become {to.value}")
    inquiry.status = to
    inquiry.updated_at = now
    if to is S.CLOSED:
        inquiry.closed_at = now


def eligible_link(session: Session, inquiry: Inquiry) -> VictimCaseLink | None:
    """The verified link between the inquiry's registrant and its case, if both are set and
    the registrant is still active: the only condition under which case facts may go out."""
    if inquiry.victim_id is None or inquiry.case_id is None:
        return None
    victim = session.get(Victim, inquiry.victim_id)
    if victim is None or not victim.active:
        return None
    return session.exec(
        select(VictimCaseLink).where(
            VictimCaseLink.victim_id == inquiry.victim_id,
            VictimCaseLink.case_id == inquiry.case_id,
            VictimCaseLink.verification_status == VerificationStatus.VERIFIED,
        )
    ).first()


def verified_links(session: Session, victim_id: int) -> list[VictimCaseLink]:
    return list(
        session.exec(
            select(VictimCaseLink)
            .where(
                VictimCaseLink.victim_id == victim_id,
                VictimCaseLink.verification_status == VerificationStatus.VERIFIED,
            )
            .order_by(col(VictimCaseLink.id))
        ).all()
    )


def _set_deadlines(settings: Settings, inquiry: Inquiry) -> None:
    due = sla.deadlines(
        BusinessCalendar.from_settings(settings),
        received_at=inquiry.received_at,
        category=inquiry.category,
        priority=inquiry.priority,
    )
    inquiry.first_response_due = due.first_response_due
    inquiry.resolution_due = due.resolution_due


def open_inquiry(
    *,
    session: Session,
    settings: Settings,
    channel: InquiryChannel,
    body: str,
    category: Category,
    victim: Victim | None,
    case_id: int | None = None,
    sender_address: str | None = None,
    sender_bidx: str | None = None,
    language: str = "en",
    author: str | None = None,
    source_ref: str | None = None,
    now: datetime | None = None,
) -> Inquiry:
    """A new inquiry with its first message. ``victim`` only for a verified registrant."""
    now = now or utcnow()
    if not body.strip():
        raise InquiryError("an inquiry needs the question itself")
    priority = sla.DEFAULT_PRIORITY[category]
    inquiry = Inquiry(
        channel=channel.value,
        category=category.value,
        priority=priority.value,
        priority_rank=RANKS[priority],
        victim_id=victim.id if victim is not None else None,
        case_id=case_id if victim is not None else None,
        sender_address=sender_address,
        sender_bidx=sender_bidx,
        language=victim.preferred_language if victim is not None else language,
        received_at=now,
        first_response_due=now,
        resolution_due=now,
        updated_at=now,
    )
    _set_deadlines(settings, inquiry)
    session.add(inquiry)
    session.flush()
    add_entry(
        session=session,
        inquiry=inquiry,
        kind=EntryKind.INBOUND,
        body=body,
        author=author,
        source_ref=source_ref,
    )
    log.info("inquiry %s opened (%s, %s)", inquiry.id, channel.value, category.value)
    if category is Category.SAFETY_CONCERN:
        alert_safety_concern(session=session, settings=settings, inquiry=inquiry, now=now)
    return inquiry


def add_entry(
    *,
    session: Session,
    inquiry: Inquiry,
    kind: EntryKind,
    body: str,
    author: str | None,
    source_ref: str | None = None,
) -> InquiryEntry:
    assert inquiry.id is not None
    entry = InquiryEntry(
        inquiry_id=inquiry.id, kind=kind.value, body=body, author=author, source_ref=source_ref
    )
    session.add(entry)
    session.flush()
    return entry


def follow_up(
    *, session: Session, inquiry: Inquiry, body: str, now: datetime, source_ref: str | None = None
) -> InquiryEntry:
    """The asker wrote again on an open inquiry: it is staff's turn once more."""
    entry = add_entry(
        session=session,
        inquiry=inquiry,
        kind=EntryKind.INBOUND,
        body=body,
        author=None,
        source_ref=source_ref,
    )
    if inquiry.status in (S.AWAITING_VICTIM, S.ANSWERED):
        move(inquiry, S.ASSIGNED, now=now)
    inquiry.updated_at = now
    session.add(inquiry)
    log.info("inquiry %s followed up", inquiry.id)
    return entry


def alert_safety_concern(
    *, session: Session, settings: Settings, inquiry: Inquiry, now: datetime
) -> None:
    assert inquiry.id is not None
    if settings.inquiry_duty_liaison and inquiry.status == S.NEW:
        inquiry.assigned_to = settings.inquiry_duty_liaison
        move(inquiry, S.ASSIGNED, now=now)
        session.add(inquiry)
    liaison_service.open_task(
        session=session,
        kind=TaskKind.INQUIRY_SAFETY_CONCERN,
        dedupe_key=f"inquiry-safety:{inquiry.id}",
        reason=f"inquiry {inquiry.id} raises a safety concern: the liaison on duty acts now",
        victim_id=inquiry.victim_id,
        case_id=inquiry.case_id,
    )


def already_received(*, session: Session, source_ref: str | None) -> Inquiry | None:
    """The inquiry a provider's message already reached (a retry or a replay), if any."""
    if source_ref is None:
        return None
    entry = session.exec(select(InquiryEntry).where(InquiryEntry.source_ref == source_ref)).first()
    return session.get(Inquiry, entry.inquiry_id) if entry else None


def get(*, session: Session, inquiry_id: int) -> Inquiry:
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise LookupError(f"no inquiry {inquiry_id}")
    return inquiry


def assign(
    *, session: Session, inquiry: Inquiry, assignee: str, now: datetime | None = None
) -> Inquiry:
    now = now or utcnow()
    if not assignee.strip():
        raise InquiryError("assign to a named member of staff")
    if inquiry.status == S.CLOSED:
        raise InquiryError("a closed inquiry cannot be assigned")
    if inquiry.status != S.ASSIGNED:
        move(inquiry, S.ASSIGNED, now=now)
    inquiry.assigned_to = assignee.strip()
    inquiry.updated_at = now
    session.add(inquiry)
    session.flush()
    log.info("inquiry %s assigned", inquiry.id)
    return inquiry


def triage(
    *,
    session: Session,
    settings: Settings,
    inquiry: Inquiry,
    category: Category | None = None,
    priority: Priority | None = None,
    case_id: int | None = None,
    now: datetime | None = None,
) -> Inquiry:
    """Set the category, priority or linked case; targets follow the new category and priority
    (counted from when the inquiry arrived)."""
    now = now or utcnow()
    if inquiry.status == S.CLOSED:
        raise InquiryError("a closed inquiry is not triaged")
    became_safety = category is Category.SAFETY_CONCERN and inquiry.category != category
    if category is not None:
        inquiry.category = category.value
        if priority is None:
            priority = sla.DEFAULT_PRIORITY[category]
    if priority is not None:
        inquiry.priority, inquiry.priority_rank = priority.value, RANKS[priority]
    if case_id is not None:
        if inquiry.victim_id is None:
            # Nobody we know sent it: no case is ever attached, so none can be disclosed.
            raise InquiryError("only a verified registrant's inquiry is linked to a case")
        if case_id not in {link.case_id for link in verified_links(session, inquiry.victim_id)}:
            raise InquiryError("the registrant has no verified link to that case")
        inquiry.case_id = case_id
    _set_deadlines(settings, inquiry)
    inquiry.updated_at = now
    session.add(inquiry)
    session.flush()
    if became_safety:
        alert_safety_concern(session=session, settings=settings, inquiry=inquiry, now=now)
    return inquiry


def note(*, session: Session, inquiry: Inquiry, body: str, author: str) -> InquiryEntry:
    if not body.strip():
        raise InquiryError("a note needs text")
    return add_entry(
        session=session, inquiry=inquiry, kind=EntryKind.NOTE, body=body, author=author
    )


def close(*, session: Session, inquiry: Inquiry, now: datetime | None = None) -> Inquiry:
    now = now or utcnow()
    move(inquiry, S.CLOSED, now=now)
    session.add(inquiry)
    session.flush()
    log.info("inquiry %s closed", inquiry.id)
    return inquiry


def entries(*, session: Session, inquiry_id: int) -> list[InquiryEntry]:
    return list(
        session.exec(
            select(InquiryEntry)
            .where(InquiryEntry.inquiry_id == inquiry_id)
            .order_by(col(InquiryEntry.id))
        ).all()
    )
