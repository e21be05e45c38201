"""Acknowledging critical notices: by SMS YES, a signed email link, or the self-service view."""

from __future__ import annotations

import functools
import logging

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session, col, select

from voice.cases.models import CaseEvent
from voice.config import Settings
from voice.liaison import service as liaison_service
from voice.liaison.models import CloseReason, TaskKind
from voice.notify.models import (
    CRITICAL_EVENT_TYPES,
    AckChannel,
    NoticeAcknowledgement,
    Notification,
    NotificationStatus,
)

log = logging.getLogger(__name__)

_SALT = "voice.notice-ack"


def went_out() -> sa.ColumnElement[bool]:
    """A notice that left the service: accepted, delivered, or handed to a provider whose
    receipt is still to come (``sending`` with the provider's reference stored)."""
    return sa.or_(
        col(Notification.status).in_((NotificationStatus.SENT, NotificationStatus.DELIVERED)),
        sa.and_(
            col(Notification.status) == NotificationStatus.SENDING,
            col(Notification.provider_ref).is_not(None),
        ),
    )


class InvalidAckToken(ValueError):
    pass


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return _serializer_for(settings.secret_key.get_secret_value())


@functools.lru_cache(maxsize=4)
def _serializer_for(secret: str) -> URLSafeTimedSerializer:
    # Made once per key: every critical email's link is signed with it, and making one cost
    # as much as the signing.
    return URLSafeTimedSerializer(secret, salt=_SALT)


def ack_token(*, settings: Settings, event_id: int, link_id: int) -> str:
    return _serializer(settings).dumps([event_id, link_id])


def ack_url(*, settings: Settings, event_id: int, link_id: int) -> str:
    token = ack_token(settings=settings, event_id=event_id, link_id=link_id)
    return f"{settings.public_base_url.rstrip('/')}/ack/{token}"


def read_ack_token(*, settings: Settings, token: str) -> tuple[int, int]:
    try:
        event_id, link_id = _serializer(settings).loads(
            token, max_age=settings.ack_link_max_age_seconds
        )
    except (BadSignature, ValueError, TypeError):
        raise InvalidAckToken("invalid or expired acknowledgement link") from None
    if not isinstance(event_id, int) or not isinstance(link_id, int):
        raise InvalidAckToken("invalid acknowledgement link")
    return event_id, link_id


def is_acknowledged(*, session: Session, event_id: int, link_id: int) -> bool:
    found = session.exec(
        select(NoticeAcknowledgement.id).where(
            NoticeAcknowledgement.event_id == event_id, NoticeAcknowledgement.link_id == link_id
        )
    ).first()
    return found is not None


def was_notified(*, session: Session, event_id: int, link_id: int) -> bool:
    """Only a critical notice that went out can be acknowledged."""
    found = session.exec(
        select(Notification.id)
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .where(
            Notification.event_id == event_id,
            Notification.link_id == link_id,
            went_out(),
            col(CaseEvent.event_type).in_(CRITICAL_EVENT_TYPES),
        )
    ).first()
    return found is not None


def acknowledge(*, session: Session, event_id: int, link_id: int, via: AckChannel) -> bool:
    """Record an acknowledgement; False if there already was one."""
    if is_acknowledged(session=session, event_id=event_id, link_id=link_id):
        return False
    try:
        with session.begin_nested():
            session.add(NoticeAcknowledgement(event_id=event_id, link_id=link_id, via=via.value))
    except sa.exc.IntegrityError:
        return False
    log.info("event %s acknowledged for link %s via %s", event_id, link_id, via.value)
    # The task to call the victim about this notice has lost its cause.
    liaison_service.resolve_matching(
        session=session,
        kinds=[TaskKind.UNACKNOWLEDGED_NOTICE],
        reason=CloseReason.ACKNOWLEDGED,
        event_id=event_id,
        link_id=link_id,
    )
    return True


def pending_for_links(*, session: Session, link_ids: list[int]) -> list[tuple[int, int]]:
    """(event_id, link_id) of critical notices sent to these links and not yet acknowledged."""
    if not link_ids:
        return []
    acked = select(NoticeAcknowledgement.id).where(
        NoticeAcknowledgement.event_id == Notification.event_id,
        NoticeAcknowledgement.link_id == Notification.link_id,
    )
    rows = session.exec(
        select(Notification.event_id, Notification.link_id)
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .where(
            col(Notification.link_id).in_(link_ids),
            went_out(),
            col(CaseEvent.event_type).in_(CRITICAL_EVENT_TYPES),
            col(CaseEvent.retracted_by_id).is_(None),
            ~acked.exists(),
        )
        .distinct()
        .order_by(col(Notification.event_id))
    ).all()
    return [(event_id, link_id) for event_id, link_id in rows]
