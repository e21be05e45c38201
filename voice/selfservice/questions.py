"""A victim's question to the office, and where it goes: for now, a liaison task.

The whole submission is ``submit_question``: when the inquiry queue exists, only this function
changes. The question's text is the victim's own words, so it is stored encrypted and never
logged or copied into the task; the task carries ids only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Field, Session, SQLModel, select

from voice.database import UTCDateTime, utcnow
from voice.liaison import service as liaison_service
from voice.pii.types import EncryptedText
from voice.victims.models import VictimCaseLink

TASK_KIND = "victim_question"
MAX_LENGTH = 2000


class VictimQuestion(SQLModel, table=True):
    """A question asked on the self-service pages."""

    __tablename__ = "victim_question"

    id: int | None = Field(default=None, primary_key=True)
    victim_id: int = Field(foreign_key="victim.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="offender_case.id")
    text: str = Field(sa_type=EncryptedText("victim_question.text"))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NotTheirCase(Exception):
    """The case named is not one the victim is linked to."""


def submit_question(
    *, session: Session, victim_id: int, case_id: int | None, text: str
) -> VictimQuestion:
    """Record the question and put it in front of staff; flushes, never commits."""
    if case_id is not None:
        linked = session.exec(
            select(VictimCaseLink.id).where(
                VictimCaseLink.victim_id == victim_id, VictimCaseLink.case_id == case_id
            )
        ).first()
        if linked is None:
            raise NotTheirCase
    question = VictimQuestion(victim_id=victim_id, case_id=case_id, text=text.strip()[:MAX_LENGTH])
    session.add(question)
    session.flush()
    liaison_service.open_task(
        session=session,
        kind=TASK_KIND,
        dedupe_key=f"question:{question.id}",
        reason="question from the self-service pages",
        victim_id=victim_id,
        case_id=case_id,
    )
    return question


def answer_expected_by(asked: date, working_days: int) -> date:
    """``working_days`` working days after ``asked`` (weekends do not count)."""
    day = asked
    left = working_days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day
