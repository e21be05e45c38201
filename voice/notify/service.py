"""Writing the outbox: which notifications an event causes.

Called inside the ingest transaction, so an event and every notice it causes commit together.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.cases.models import Case, CaseEvent, Subject
from voice.database import utcnow
from voice.disclosure import holds
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import disclose
from voice.disclosure.policy import Policy
from voice.disclosure.records import event_record
from voice.notify.models import Channel, Notification, NotificationStatus
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink

# Statuses meaning a notice may have reached the person; they are owed a correction.
POSSIBLY_TOLD = (
    NotificationStatus.SENDING,
    NotificationStatus.SENT,
    NotificationStatus.DELIVERED,
    NotificationStatus.TEMPORARY_FAILURE,
)


def chosen_channels(link: VictimCaseLink, victim: Victim) -> list[Channel]:
    channels = []
    if link.notify_email and victim.email and victim.email_verified:
        channels.append(Channel.EMAIL)
    if link.notify_sms and victim.phone and victim.phone_verified:
        channels.append(Channel.SMS)
    return channels


def _recipients(session: Session, event: CaseEvent) -> list[tuple[VictimCaseLink, Victim]]:
    query = (
        select(VictimCaseLink, Victim)
        .join(Victim, col(Victim.id) == col(VictimCaseLink.victim_id))
        .where(
            VictimCaseLink.verification_status == VerificationStatus.VERIFIED,
            col(Victim.active).is_(True),
        )
    )
    if event.event_type == "correction":
        # Only those who may have been told of the retracted event hear of its correction.
        told = (
            select(Notification.link_id)
            .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
            .where(
                CaseEvent.retracted_by_id == event.id,
                col(Notification.status).in_(POSSIBLY_TOLD),
            )
        )
        query = query.where(col(VictimCaseLink.id).in_(told))
    else:
        query = query.where(VictimCaseLink.case_id == event.case_id)
    return list(session.exec(query.order_by(col(VictimCaseLink.id))).all())


def enqueue_for_event(*, session: Session, event: CaseEvent, policy: Policy) -> int:
    """Add one notification per verified link x chosen channel; return how many."""
    if event.retracted_by_id is not None:
        return 0  # already corrected before it arrived: there is nothing true to tell
    subject = session.get_one(Subject, event.subject_id)
    case = session.get_one(Case, event.case_id)
    held = holds.is_held(session=session, case_id=case.id)  # type: ignore[arg-type]
    view = disclose(
        event_record(event, subject, case, safety_hold=held),
        audience=Audience.VICTIM_VERIFIED,
        policy=policy,
    )
    if "event.event_type" not in view.released:
        return 0  # nothing about this event may go to a victim at all
    now = utcnow()
    rows = [
        {
            "event_id": event.id,
            "link_id": link.id,
            "channel": channel,
            "status": NotificationStatus.CREATED,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for link, victim in _recipients(session, event)
        for channel in chosen_channels(link, victim)
    ]
    if rows:
        # One multi-row INSERT: a case with thousands of registrants fans out in one statement.
        session.execute(sa.insert(Notification), rows)
    return len(rows)


def count_for_event(*, session: Session, event_id: int) -> int:
    return len(session.exec(select(Notification.id).where(Notification.event_id == event_id)).all())
