"""Staff-written messages to victims: scanned on the way out, held for a supervisor on a finding.

``submit`` scans the body (scan.py). A clean message is ``ready``; one with findings is
``held`` and can be sent only after ``approve`` by someone other than its author, or ``reject``.
``ready_to_send`` is the one check a sending path asks, for staff messages and for answers to
inquiries (voice.inquiries) alike: anything that has findings, an author and a reviewer.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any, Protocol

from sqlmodel import Session

from voice.database import utcnow
from voice.messages.models import StaffMessage
from voice.messages.scan import scan
from voice.victims.models import VictimCaseLink

log = logging.getLogger(__name__)


class MessageStatus(StrEnum):
    READY = "ready"
    HELD = "held"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


SENDABLE = (MessageStatus.READY, MessageStatus.APPROVED)


class Gated(Protocol):
    """Something staff wrote for a victim, as the gate sees it."""

    @property
    def findings(self) -> list[dict[str, Any]]: ...
    @property
    def author(self) -> str: ...
    @property
    def reviewed_by(self) -> str | None: ...
    @property
    def status(self) -> str: ...


def check_review(item: Gated, reviewer: str) -> None:
    """Refuse a review of anything not held, or by its own author."""
    if item.status != MessageStatus.HELD:
        raise ReviewError(f"it is {item.status}, not held for review")
    if not reviewer.strip() or reviewer.strip() == item.author:
        raise ReviewError("a held message is reviewed by a supervisor other than its author")


class ReviewError(ValueError):
    """A review that is not allowed: wrong state, or the author reviewing their own message."""


def submit(
    *, session: Session, link_id: int, body: str, author: str, channel: str = "email"
) -> StaffMessage:
    link = session.get(VictimCaseLink, link_id)
    if link is None:
        raise ReviewError(f"no link {link_id}")
    if channel not in ("email", "sms"):
        raise ReviewError("a message goes by email or sms")
    if not body.strip() or not author.strip():
        raise ReviewError("a message needs a body and an author")
    findings = [f.as_dict() for f in scan(body)]
    message = StaffMessage(
        case_id=link.case_id,
        link_id=link_id,
        body=body,
        author=author.strip(),
        status=MessageStatus.HELD if findings else MessageStatus.READY,
        findings=findings,
        channel=channel,
    )
    session.add(message)
    session.flush()
    # Kinds only: the text of a message never reaches a log.
    log.info(
        "staff message %s %s (%s)",
        message.id,
        message.status,
        ",".join(sorted({str(f["kind"]) for f in findings})) or "no findings",
    )
    return message


def _review(
    session: Session, message_id: int, reviewer: str, note: str, status: MessageStatus
) -> StaffMessage:
    message = session.get(StaffMessage, message_id)
    if message is None:
        raise ReviewError(f"no message {message_id}")
    if message.status != MessageStatus.HELD:
        raise ReviewError(f"message {message_id} is {message.status}, not held for review")
    if not reviewer.strip() or reviewer.strip() == message.author:
        raise ReviewError("a held message is reviewed by a supervisor other than its author")
    message.status = status
    message.reviewed_by, message.reviewed_at, message.review_note = reviewer.strip(), utcnow(), note
    session.add(message)
    session.flush()
    return message


def approve(*, session: Session, message_id: int, supervisor: str, note: str = "") -> StaffMessage:
    return _review(session, message_id, supervisor, note, MessageStatus.APPROVED)


def reject(*, session: Session, message_id: int, supervisor: str, note: str = "") -> StaffMessage:
    return _review(session, message_id, supervisor, note, MessageStatus.REJECTED)


def ready_to_send(message: Gated) -> bool:
    """The gate: clean, or held and approved by a supervisor other than the author."""
    if message.findings and (message.reviewed_by is None or message.reviewed_by == message.author):
        return False
    return message.status in SENDABLE
