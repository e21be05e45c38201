"""Writing the outbox: which notifications an event causes.

Called inside the ingest transaction, so an event and every notice it causes commit together.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice import tracing
from voice.cases.models import CaseEvent
from voice.config import Settings, get_settings
from voice.database import utcnow
from voice.disclosure.policy import Policy
from voice.disclosure.release import Audience, release
from voice.notify import contacts, guard
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


def enqueue_for_event(
    *, session: Session, event: CaseEvent, policy: Policy, settings: Settings | None = None
) -> int:
    """Add one notification per verified link x chosen channel; return how many.

    Suppressed contact points (opted out, hard-bounced) get none. Critical notices of a burst
    that trips the mass-event guard are written ``held`` instead of ``created``.
    """
    if event.retracted_by_id is not None:
        return 0  # already corrected before it arrived: there is nothing true to tell
    # A first look through the one door: an event nothing of which may reach a victim queues
    # nothing. The worker releases it again at send time, and accounts for it there.
    view = release(session=session, policy=policy, audience=Audience.VICTIM_VERIFIED, event=event)
    if "event.event_type" not in view.released:
        return 0  # nothing about this event may go to a victim at all
    now = utcnow()
    recipients = _recipients(session, event)
    suppressed = _suppressed(session, recipients)
    targets = [
        (link, channel)
        for link, victim in recipients
        for channel in chosen_channels(link, victim)
        if (channel, _address(victim, channel)) not in suppressed
    ]
    if not targets:
        return 0
    pause_id = guard.pause_for(session=session, settings=settings or get_settings(), event=event)
    traceparent = tracing.current_traceparent()
    rows = [
        {
            "event_id": event.id,
            "link_id": link.id,
            "channel": channel,
            "status": NotificationStatus.CREATED if pause_id is None else NotificationStatus.PAUSED,
            "pause_id": pause_id,
            "guarded": not guard.is_suspended(),
            "traceparent": traceparent,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for link, channel in targets
    ]
    if rows:
        # One multi-row INSERT: a case with thousands of registrants fans out in one statement.
        session.execute(sa.insert(Notification), rows)
    return len(rows)


def _address(victim: Victim, channel: Channel) -> str:
    address = victim.email if channel is Channel.EMAIL else victim.phone
    return contacts.normalise(channel, address or "")


def _suppressed(
    session: Session, recipients: list[tuple[VictimCaseLink, Victim]]
) -> set[tuple[Channel, str]]:
    found: set[tuple[Channel, str]] = set()
    for channel in Channel:
        addresses = {_address(v, channel) for _, v in recipients if v.email or v.phone}
        addresses.discard("")
        for address in contacts.suppressed_among(
            session=session, channel=channel, addresses=addresses
        ):
            found.add((channel, address))
    return found


def count_for_event(*, session: Session, event_id: int) -> int:
    return len(session.exec(select(Notification.id).where(Notification.event_id == event_id)).all())
