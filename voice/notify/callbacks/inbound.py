"""Texts from victims: STOP and its synonyms, START, HELP, YES to acknowledge, a code that
proves the number, and free text, which staff answer: it goes to the inquiry queue
(voice.inquiries) through the sink the application hands in, or, without one, to a liaison
task. Every text is recorded (encrypted).

Keywords are matched on the whole message, trimmed, case- and accent-blind, as carriers match
them. After STOP, a number hears nothing more from us except the one confirmation, and answers to
START and HELP (the carriers' rule); a YES from it still counts as an acknowledgement.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import datetime
from typing import Protocol

from sqlmodel import Session, col, select

from voice.cases.models import CaseEvent
from voice.config import Settings
from voice.liaison import contact_tasks
from voice.notify import contacts
from voice.notify.callbacks import acknowledgements as ack
from voice.notify.inbound_messages import HandledAs, record
from voice.notify.models import (
    CRITICAL_EVENT_TYPES,
    AckChannel,
    Channel,
    Notification,
    SuppressionReason,
)
from voice.notify.replies import reply_text
from voice.victims import verification
from voice.victims.models import Victim, VictimCaseLink

log = logging.getLogger(__name__)

STOP_WORDS = frozenset({"STOP", "UNSUBSCRIBE", "END", "QUIT", "CANCEL"})
START_WORDS = frozenset({"START"})
HELP_WORDS = frozenset({"HELP"})
YES_WORDS = frozenset({"YES", "Y", "SI"})
CODE = re.compile(r"^[0-9]{6}$")


class FreeTextSink(Protocol):
    """Where a text that is no keyword goes: the inquiry queue, which sits above this package
    and so is handed in by the application rather than imported."""

    def __call__(
        self, *, session: Session, settings: Settings, sender: str, body: str, message_sid: str
    ) -> object: ...


def keyword(body: str) -> str:
    text = unicodedata.normalize("NFD", body.strip().strip(".!¡?¿ ").upper())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _victims_with(session: Session, phone: str) -> list[Victim]:
    address = contacts.normalise(Channel.SMS, phone)
    return list(
        session.exec(
            select(Victim).where(contacts.matches(Channel.SMS, address)).order_by(col(Victim.id))
        ).all()
    )


def _reply(settings: Settings, language: str, key: str) -> str:
    return reply_text(key, language=language, office_contact=settings.office_contact)


def handle_inbound(
    *,
    session: Session,
    settings: Settings,
    sender: str,
    body: str,
    now: datetime,
    message_sid: str = "",
    on_free_text: FreeTextSink | None = None,
) -> str | None:
    """Act on one inbound text, after recording it; return the one reply to send, if any."""
    word = keyword(body)
    victims = _victims_with(session, sender)
    language = victims[0].preferred_language if victims else "en"
    opted_out = contacts.is_suppressed(session=session, channel=Channel.SMS, address=sender)
    handled_as, key = _act(session, settings, sender, body, word, victims, opted_out, now)
    # Free text with words in it is the inquiry queue's: an inquiry, with its service levels and
    # the safety-concern alert, is how staff pick it up, so no liaison task doubles it. Without
    # a queue handed in, or with no words to queue, it still reaches staff as a task.
    sink = on_free_text if handled_as is HandledAs.FREE_TEXT and body.strip() else None
    record(
        session=session,
        sender=sender,
        body=body,
        victims=victims,
        handled_as=handled_as,
        now=now,
        queued=sink is not None,
    )
    if sink is not None:
        # The same reply for anyone, registered or not: it tells nothing about any case.
        sink(session=session, settings=settings, sender=sender, body=body, message_sid=message_sid)
    if key is None or (opted_out and handled_as not in _ANSWERED_AFTER_STOP):
        return None
    return _reply(settings, language, key)


# After STOP, only these still get an answer (the carriers' rule).
_ANSWERED_AFTER_STOP = frozenset({HandledAs.STOP, HandledAs.START, HandledAs.HELP})


def _act(
    session: Session,
    settings: Settings,
    sender: str,
    body: str,
    word: str,
    victims: list[Victim],
    opted_out: bool,
    now: datetime,
) -> tuple[HandledAs, str | None]:
    """What the text is, and the key of the reply it gets (None: no reply)."""
    if word in STOP_WORDS:
        newly = contacts.suppress(
            session=session, channel=Channel.SMS, address=sender, reason=SuppressionReason.OPTED_OUT
        )
        return HandledAs.STOP, "stopped" if newly else None
    if word in START_WORDS:
        lifted = contacts.unsuppress(
            session=session, channel=Channel.SMS, address=sender, reason=SuppressionReason.OPTED_OUT
        )
        return HandledAs.START, "started" if lifted else None
    if word in HELP_WORDS:
        return HandledAs.HELP, "help"
    if word in YES_WORDS:
        acknowledged = _acknowledge_latest(session, victims)
        return HandledAs.ACKNOWLEDGEMENT, "acknowledged" if acknowledged else "nothing"
    code = "".join(body.split())
    if CODE.match(code) and victims:
        proven = verification.confirm_code_by_reply(
            session=session, settings=settings, victims=victims, code=code, now=now
        )
        if proven is None:
            return HandledAs.CODE, "bad_code"
        contact_tasks.reconcile_victim(session=session, settings=settings, victim=proven, now=now)
        return HandledAs.CODE, "confirmed"
    return HandledAs.FREE_TEXT, "received"


def _acknowledge_latest(session: Session, victims: list[Victim]) -> bool:
    """Acknowledge the latest critical notice texted to this number and not yet acknowledged."""
    victim_ids = [v.id for v in victims]
    if not victim_ids:
        return False
    candidates = session.exec(
        select(Notification.event_id, Notification.link_id)
        .join(VictimCaseLink, col(VictimCaseLink.id) == col(Notification.link_id))
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .where(
            col(VictimCaseLink.victim_id).in_(victim_ids),
            Notification.channel == Channel.SMS,
            ack.went_out(),
            col(CaseEvent.event_type).in_(CRITICAL_EVENT_TYPES),
            col(CaseEvent.retracted_by_id).is_(None),
        )
        .order_by(col(Notification.id).desc())
    ).all()
    for event_id, link_id in candidates:
        if ack.acknowledge(session=session, event_id=event_id, link_id=link_id, via=AckChannel.SMS):
            return True
    return False
