"""Every text a victim sends us is kept, encrypted, and free text reaches staff: through the
inquiry queue the application hands it to, else as a liaison task.

The sender is stored only as its keyed blind index (enough to group texts by number and match
a registrant), the body encrypted like other personal data. Logs name the row id only.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from voice.database import UTCDateTime
from voice.liaison import service as tasks
from voice.liaison.models import TaskKind
from voice.pii import keyring
from voice.pii.types import EncryptedText
from voice.victims.models import Victim

log = logging.getLogger(__name__)


class HandledAs(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    ACKNOWLEDGEMENT = "acknowledgement"
    CODE = "code"
    FREE_TEXT = "free_text"


class InboundMessage(SQLModel, table=True):
    __tablename__ = "inbound_message"

    id: int | None = Field(default=None, primary_key=True)
    sender_bidx: str = Field(sa_type=sa.String(64), index=True)
    # The registrant whose verified number sent it; None for an unknown or unproven number.
    victim_id: int | None = Field(default=None, foreign_key="victim.id", index=True)
    body: str = Field(sa_type=EncryptedText("inbound_message.body"))
    handled_as: str = Field(sa_type=sa.String(16))
    received_at: datetime = Field(sa_type=UTCDateTime)


def record(
    *,
    session: Session,
    sender: str,
    body: str,
    victims: list[Victim],
    handled_as: HandledAs,
    now: datetime,
    queued: bool = False,
) -> InboundMessage:
    """Keep one inbound text. Free text reaches staff: through the inquiry queue when the
    caller hands it there (``queued``), else as a liaison task."""
    verified = [v for v in victims if v.phone_verified and v.active]
    message = InboundMessage(
        sender_bidx=keyring.active().blind_index(sender, kind="phone"),
        victim_id=verified[0].id if verified else None,
        body=body,
        handled_as=handled_as.value,
        received_at=now,
    )
    session.add(message)
    session.flush()
    log.info("inbound text %s recorded (%s)", message.id, handled_as.value)
    if handled_as is HandledAs.FREE_TEXT and not queued:
        who = "a registrant" if message.victim_id else "an unregistered or unconfirmed number"
        tasks.open_task(
            session=session,
            kind=TaskKind.INBOUND_MESSAGE,
            dedupe_key=f"inbound-message:{message.id}",
            reason=f"text message {message.id} from {who}: read it and answer",
            victim_id=message.victim_id,
        )
    return message
