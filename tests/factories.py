"""Builders for test data: events that match the contract, victims and links."""

from __future__ import annotations

import itertools
from typing import Any

from sqlmodel import Session, select

from voice.cases.models import Case
from voice.victims import service as victim_service
from voice.victims.models import Language, Victim, VictimCaseLink

_ids = itertools.count(1)


def event(
    event_type: str = "custody.booked",
    *,
    subject_id: str = "S-T0001",
    case_number: str = "CASE-T-0001",
    occurred_at: str = "2026-11-02T09:15:00Z",
    source: str = "enforce",
    source_event_id: str | None = None,
    case: dict[str, Any] | None = None,
    subject: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": source,
        "source_event_id": source_event_id or f"t-{next(_ids):06d}",
        "occurred_at": occurred_at,
        "event_type": event_type,
        "subject": {"subject_id": subject_id, **(subject or {})},
        "case": {"case_number": case_number, **(case or {})},
    }
    body.update(extra)
    return body


def booking(**kwargs: Any) -> dict[str, Any]:
    """A booking with a full, unmarked subject and facility, plus a marked note and officer."""
    return event(
        "custody.booked",
        subject={
            "first_name": "Ramon",
            "last_name": "Example",
            "a_number": "A200100101",
            "date_of_birth": "1988-04-12",
            "country_of_birth": "Exampleland",
        },
        case={
            "custody_status": "in_custody",
            "facility_name": "Example Processing Center",
            "facility_city": "Sampletown",
            "facility_state": "TX",
            "proceedings_stage": "initiated",
            "officer_name": "Officer J. Sample",
        },
        notes="Booked after transfer from county jail.",
        markings={"/notes": "(U//LES)", "/case/officer_name": "(U//FOUO)"},
        **kwargs,
    )


def case_of(session: Session, case_number: str = "CASE-T-0001") -> Case:
    return session.exec(select(Case).where(Case.case_number == case_number)).one()


def victim_with_link(
    session: Session,
    case: Case,
    *,
    email: str | None = "victim@example.invalid",
    phone: str | None = None,
    verified: bool = True,
    notify_email: bool = True,
    notify_sms: bool = False,
    language: Language = Language.ENGLISH,
    pin: str | None = None,
) -> tuple[Victim, VictimCaseLink, str]:
    """A registered, linked victim, and the PIN they were issued."""
    victim, issued = victim_service.register_victim(
        session=session,
        first_name="Vera",
        last_name="Victim",
        language=language,
        email=email,
        email_verified=email is not None,
        phone=phone,
        phone_verified=phone is not None,
        pin=pin,
    )
    link = victim_service.link_victim(
        session=session,
        victim=victim,
        case=case,
        verified=verified,
        notify_email=notify_email,
        notify_sms=notify_sms,
    )
    return victim, link, issued
