"""Preparing one claimed notification: every check that may stop it, then its message.

Runs inside the worker's batch read. The disclosure filter runs again here, at send time, so a
hold or a protection flag set after ingest wins over what was true when the row was queued.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from email.utils import parseaddr
from types import MappingProxyType

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.cases.models import CaseEvent
from voice.database import utcnow
from voice.disclosure.release import Audience, DisclosedView, release
from voice.notify import contacts
from voice.notify.adapters.base import OutgoingEmail, OutgoingSms
from voice.notify.callbacks import acknowledgements as ack
from voice.notify.context import WorkerContext
from voice.notify.models import Channel, Notification, NotificationStatus
from voice.notify.quiet_hours import QuietUntil, quiet_until
from voice.notify.render import NoticeTooLong, is_critical, render_notice
from voice.notify.service import POSSIBLY_TOLD, chosen_channels
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink

RENDER_FAILED = "render failed: over the SMS segment cap"


@dataclass(frozen=True)
class Prepared:
    """Everything needed to send, gathered in a short read so no transaction spans the send."""

    notification_id: int
    channel: Channel
    message: OutgoingEmail | OutgoingSms
    view: DisclosedView
    recipient_id: str
    case_id: int
    event_id: int
    retracted: DisclosedView | None = None
    retracted_event_id: int | None = None
    traceparent: str | None = None
    # The recipient's accounting reference, made sure of before the send (tasks.prepare).
    recipient_ref: str | None = None

    @property
    def row_id(self) -> int:
        return self.notification_id


def prepare(
    session: Session, ctx: WorkerContext, notification_id: int
) -> Prepared | QuietUntil | str:
    """Build the message, say until when it must wait, or return why it must not be sent."""
    notification = session.get_one(Notification, notification_id)
    if (
        notification.claimed_by != ctx.worker_id
        or notification.status != NotificationStatus.SENDING
    ):
        return "lease lost"
    event = session.get_one(CaseEvent, notification.event_id)
    if event.retracted_by_id is not None:
        return "event retracted"
    retracted: tuple[int, DisclosedView] | None = None
    if event.event_type == "correction":
        if not was_possibly_told(session, event, notification):
            # The retracted notice never went out (it was cancelled): nothing to correct.
            return "nothing to correct"
        retracted = _retracted_view(session, ctx, event)
    link = session.get_one(VictimCaseLink, notification.link_id)
    victim = session.get_one(Victim, link.victim_id)
    channel = Channel(notification.channel)
    if (
        link.verification_status != VerificationStatus.VERIFIED
        or not victim.active
        or channel not in chosen_channels(link, victim)
    ):
        return "recipient no longer eligible"
    address = victim.email if channel is Channel.EMAIL else victim.phone
    assert address is not None
    if contacts.is_suppressed(session=session, channel=channel, address=address):
        # Opted out (STOP) or known not to exist (hard bounce): never write to it.
        return "contact point suppressed"
    wait = quiet_until(
        now=utcnow(),
        event_type=event.event_type,
        time_zone=victim.time_zone,
        start_hour=victim.quiet_start_hour,
        end_hour=victim.quiet_end_hour,
    )
    if wait is not None:
        return QuietUntil(wait)
    # Released again at send time: a hold or a protection flag set after ingest wins. The
    # release is accounted for once the provider has accepted the message (settle._disclosures).
    view = release(
        session=session, policy=ctx.policy, audience=Audience.VICTIM_VERIFIED, event=event
    )
    if "event.event_type" not in view.released:
        return "nothing disclosable"
    assert event.id is not None
    assert link.id is not None
    ack_link = ""
    if channel is Channel.EMAIL and is_critical(event.event_type):
        ack_link = ack.ack_url(settings=ctx.settings, event_id=event.id, link_id=link.id)
    try:
        notice = render_notice(
            view=view,
            channel=channel,
            language=victim.preferred_language,
            time_zone=victim.time_zone,
            office_contact=ctx.settings.office_contact,
            ack_url=ack_link,
            retracted=retracted[1] if retracted else None,
        )
    except NoticeTooLong:
        return RENDER_FAILED
    reference = f"n-{notification_id:08d}"
    message: OutgoingEmail | OutgoingSms
    if channel is Channel.EMAIL:
        message = OutgoingEmail(
            to=address,
            sender=ctx.settings.email_from,
            subject=notice.subject,
            text=notice.body,
            html=notice.html,
            message_id=message_id_for(reference, ctx.settings.email_from),
            reference=reference,
        )
    else:
        message = OutgoingSms(
            to=address, sender=ctx.settings.sms_from, body=notice.body, reference=reference
        )
    return Prepared(
        notification_id=notification_id,
        channel=channel,
        message=message,
        view=view,
        recipient_id=str(victim.id),
        case_id=event.case_id,
        event_id=event.id,
        retracted=retracted[1] if retracted else None,
        retracted_event_id=retracted[0] if retracted else None,
        traceparent=notification.traceparent,
    )


def message_id_for(reference: str, sender: str) -> str:
    """The Message-ID we keep: derived from the reference, so a resend repeats it exactly."""
    return f"<{reference}.voice@{_domain(sender)}>"


@functools.lru_cache(maxsize=16)
def _domain(sender: str) -> str:
    # One sender for every message, and parsing an address costs more than the rest of the
    # Message-ID: parsed once.
    return parseaddr(sender)[1].rpartition("@")[2] or "voice.invalid"


def _retracted_view(
    session: Session, ctx: WorkerContext, correction: CaseEvent
) -> tuple[int, DisclosedView] | None:
    """The retracted event's type alone, and only while the filter still releases it."""
    retracted = session.exec(
        select(CaseEvent).where(CaseEvent.retracted_by_id == correction.id)
    ).first()
    if retracted is None or retracted.id is None:
        return None
    full = release(
        session=session, policy=ctx.policy, audience=Audience.VICTIM_VERIFIED, event=retracted
    )
    if "event.event_type" not in full.released:
        return None
    released = {"event.event_type": full.released["event.event_type"]}
    return retracted.id, DisclosedView(
        audience=Audience.VICTIM_VERIFIED, released=MappingProxyType(released)
    )


def was_possibly_told(session: Session, correction: CaseEvent, notification: Notification) -> bool:
    told = session.execute(
        sa.select(col(Notification.id))
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .where(
            col(CaseEvent.retracted_by_id) == correction.id,
            col(Notification.link_id) == notification.link_id,
            col(Notification.status).in_(POSSIBLY_TOLD),
        )
        .limit(1)
    ).first()
    return told is not None
