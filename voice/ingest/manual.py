"""Manual status entry: a supervisor records a status change by hand while a feed is down.

The entry becomes an event of the published contract and goes through ``ingest_event`` like
any other, so it is validated, folded, guarded and notified the same way. It is filed under
the subject's own upstream source, because subjects are known by (source, upstream id): a
separate source would open a second subject instead of changing this one. What marks it as
staff work is its ``source_event_id`` (``staff-…``, a namespace no feed uses), its notes
(shown on the case's timeline: who entered it and why) and a ``StaffStatusEntry`` row.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from voice.cases.models import Case, CaseEvent, Subject
from voice.database import utcnow
from voice.disclosure.policy import Policy
from voice.ingest.models import StaffStatusEntry
from voice.ingest.service import Receipt, ingest_event
from voice.ingest.validation import InvalidEvent, Problem, contract_schema

log = logging.getLogger(__name__)

SOURCE_EVENT_PREFIX = "staff-"

# The case fields each event type carries besides the state its type implies (IMPLIED_STATE).
RELEVANT_FIELDS: dict[str, tuple[str, ...]] = {
    "custody.booked": ("facility_name", "facility_city", "facility_state"),
    "custody.transferred": ("facility_name", "facility_city", "facility_state"),
    "custody.released": ("release_type", "release_address"),
    "custody.escaped": (),
    "custody.returned": ("facility_name", "facility_city", "facility_state"),
    "custody.deceased": (),
    "custody.detainer_lodged": ("facility_name", "facility_city", "facility_state"),
    "case.proceedings_initiated": ("immigration_status",),
    "case.hearing_scheduled": ("hearing_at", "hearing_court"),
    "case.removal_ordered": (),
    "case.relief_granted": ("immigration_status",),
    "case.appeal_filed": (),
    "case.closed": (),
    "removal.scheduled": ("scheduled_removal_at", "removal_port"),
    "removal.completed": ("removed_to_country",),
    "correction": ("custody_status", "proceedings_stage"),
}


def event_types() -> list[str]:
    """The event types of the published contract, in its order."""
    types: list[str] = contract_schema()["properties"]["event_type"]["enum"]
    return types


def case_field_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = contract_schema()["properties"]["case"]["properties"][name]
    return schema


@dataclass(frozen=True)
class ManualEntry:
    event_type: str
    subject_id: str
    case_number: str
    occurred_at: datetime
    reason: str
    fields: Mapping[str, str]
    corrects: str | None = None


class EntryRefused(ValueError):
    """The entry names no known subject or case; the message is safe to show to staff."""


def _subject(session: Session, subject_id: str) -> Subject:
    found = session.exec(select(Subject).where(Subject.upstream_id == subject_id)).all()
    if not found:
        raise EntryRefused("No subject has this subject ID.")
    if len(found) > 1:
        raise EntryRefused("Several sources know this subject ID: enter it through the feed.")
    return found[0]


def _case(session: Session, subject: Subject, case_number: str) -> Case:
    case = session.exec(
        select(Case).where(Case.subject_id == subject.id, Case.case_number == case_number)
    ).first()
    if case is None:
        raise EntryRefused("This subject has no case with this case number.")
    return case


def build_event(*, subject: Subject, entry: ManualEntry, who: str, name: str) -> dict[str, Any]:
    allowed = RELEVANT_FIELDS.get(entry.event_type, ())
    case: dict[str, Any] = {"case_number": entry.case_number}
    case.update({k: v for k, v in entry.fields.items() if k in allowed and v})
    event: dict[str, Any] = {
        "source": subject.source,
        "source_event_id": SOURCE_EVENT_PREFIX + uuid.uuid4().hex,
        "occurred_at": entry.occurred_at.isoformat(),
        "event_type": entry.event_type,
        "subject": {"subject_id": subject.upstream_id},
        "case": case,
        "notes": f"Entered by hand by {name} ({who}). Reason: {entry.reason.strip()}",
    }
    if entry.event_type == "correction":
        event["corrects"] = entry.corrects or ""
    return event


def record(
    *,
    session: Session,
    policy: Policy,
    entry: ManualEntry,
    entered_by: str,
    entered_by_name: str,
) -> Receipt:
    """Ingest the entry as an event and note who entered it; refusals raise, nothing stored.

    Raises EntryRefused, InvalidEvent (the contract's problems, by pointer) or, through
    ingest, EventQuarantined (the caller commits the quarantine row).
    """
    if not entry.reason.strip():
        raise InvalidEvent([Problem("/reason", "give the reason for entering this by hand")])
    if entry.event_type == "correction" and not (entry.corrects or "").strip():
        raise InvalidEvent([Problem("/corrects", "name the event this correction retracts")])
    subject = _subject(session, entry.subject_id)
    _case(session, subject, entry.case_number)
    event = build_event(subject=subject, entry=entry, who=entered_by, name=entered_by_name)
    receipt = ingest_event(session=session, candidate=event, policy=policy)
    session.add(
        StaffStatusEntry(
            event_id=receipt.event_id,
            case_id=receipt.case_id,
            entered_by=entered_by[:200],
            entered_by_name=entered_by_name[:200],
            reason=entry.reason.strip(),
            entered_at=utcnow(),
        )
    )
    session.flush()
    log.info(
        "manual status entry event=%s case=%s by=%s", receipt.event_id, receipt.case_id, entered_by
    )
    return receipt


def entries_for_case(*, session: Session, case_id: int) -> dict[int, StaffStatusEntry]:
    """The case's hand-entered events, by event id: for the timeline to say who entered each."""
    rows = session.exec(
        select(StaffStatusEntry)
        .join(CaseEvent, col(CaseEvent.id) == col(StaffStatusEntry.event_id))
        .where(StaffStatusEntry.case_id == case_id)
    ).all()
    return {row.event_id: row for row in rows}
