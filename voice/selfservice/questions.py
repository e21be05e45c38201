"""Questions asked on the self-service pages before the inquiry queue took them.

Each one raised a liaison task, which still leads staff to it; new questions go to the inquiry
queue (question_pages.py). The table stays so those earlier questions are kept, as asked.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from voice.database import UTCDateTime, utcnow
from voice.pii.types import EncryptedText


class VictimQuestion(SQLModel, table=True):
    """A question asked on the self-service pages, before the inquiry queue existed."""

    __tablename__ = "victim_question"

    id: int | None = Field(default=None, primary_key=True)
    victim_id: int = Field(foreign_key="victim.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="offender_case.id")
    text: str = Field(sa_type=EncryptedText("victim_question.text"))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
