"""What the victims' pages read: each case's history and the notices sent, all through the door.

A case's history is released event by event through ``disclosure.release`` and accounted for in
the request's transaction, like every other read of case data by a victim. The notices list
shows only notices that went out (so it tells nothing the victim was not already told), and
their delivery state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from voice.cases.models import CaseEvent
from voice.disclosure.policy import Policy
from voice.disclosure.release import Audience, Recipient, release
from voice.notify.callbacks import acknowledgements as ack
from voice.notify.models import CRITICAL_EVENT_TYPES, Notification
from voice.notify.service import POSSIBLY_TOLD
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink

CHANNEL = "web"


def audience_for(link: VictimCaseLink) -> Audience:
    # Until a liaison verifies the relationship, a registrant sees only what is public.
    verified = link.verification_status == VerificationStatus.VERIFIED
    return Audience.VICTIM_VERIFIED if verified else Audience.VICTIM_PENDING


def case_history(
    *, session: Session, victim: Victim, link: VictimCaseLink, policy: Policy
) -> list[tuple[str, datetime]]:
    """(event type, when) of each released, unretracted event of the link's case, oldest first.

    Each event's release is accounted for to the victim, in ``session``.
    """
    assert victim.id is not None
    events = session.exec(
        select(CaseEvent)
        .where(CaseEvent.case_id == link.case_id, col(CaseEvent.retracted_by_id).is_(None))
        .order_by(col(CaseEvent.occurred_at), col(CaseEvent.id))
    ).all()
    recipient = Recipient(kind="victim", id=str(victim.id), channel=CHANNEL)
    history = []
    for event in events:
        view = release(
            session=session,
            policy=policy,
            audience=audience_for(link),
            event=event,
            recipient=recipient,
        )
        kind = view.released.get("event.event_type")
        when = as_datetime(view.released.get("event.occurred_at"))
        if isinstance(kind, str) and when is not None and kind != "correction":
            history.append((kind, when))
    return history


def as_datetime(value: object) -> datetime | None:
    """A released time: a datetime from a column, or the ISO text an event's payload holds."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


def links_of(*, session: Session, victim: Victim) -> list[VictimCaseLink]:
    return list(
        session.exec(
            select(VictimCaseLink)
            .where(
                VictimCaseLink.victim_id == victim.id,
                VictimCaseLink.verification_status != VerificationStatus.REJECTED,
            )
            .order_by(col(VictimCaseLink.id))
        ).all()
    )


@dataclass(frozen=True)
class SentNotice:
    notification_id: int
    event_id: int
    case_id: int
    event_type: str
    channel: str
    status: str
    sent_at: datetime | None
    critical: bool
    needs_confirmation: bool


def sent_notices(*, session: Session, victim: Victim, limit: int = 100) -> list[SentNotice]:
    """The notices that went out to ``victim``, newest first."""
    links = {link.id: link for link in links_of(session=session, victim=victim)}
    rows = session.exec(
        select(Notification, CaseEvent)
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .where(
            col(Notification.link_id).in_(list(links)),
            col(Notification.status).in_(POSSIBLY_TOLD),
        )
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .limit(limit)
    ).all()
    pending = set(
        ack.pending_for_links(session=session, link_ids=[i for i in links if i is not None])
    )
    notices = []
    for notification, event in rows:
        assert notification.id is not None
        assert event.id is not None
        notices.append(
            SentNotice(
                notification_id=notification.id,
                event_id=event.id,
                case_id=event.case_id,
                event_type=event.event_type,
                channel=notification.channel,
                status=notification.status,
                sent_at=notification.sent_at or notification.created_at,
                critical=event.event_type in CRITICAL_EVENT_TYPES,
                needs_confirmation=(event.id, notification.link_id) in pending,
            )
        )
    return notices
