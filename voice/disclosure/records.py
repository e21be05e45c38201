"""Turning stored subjects, cases and events into filter records.

Markings arrive as JSON pointers into an event. A field carries every marking whose pointer is
that field or one of its parents (``""`` marks the whole event, ``/case`` the whole case).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voice.cases.models import Case, CaseEvent, Subject
from voice.disclosure.filter import FieldValue, Record

SUBJECT_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "aliases",
    "a_number",
    "date_of_birth",
    "country_of_birth",
    "country_of_citizenship",
)
CASE_FIELDS = (
    "case_number",
    "custody_status",
    "facility_name",
    "facility_city",
    "facility_state",
    "immigration_status",
    "proceedings_stage",
    "release_type",
    "release_address",
    "hearing_at",
    "hearing_court",
    "scheduled_removal_at",
    "removal_port",
    "removed_to_country",
    "transport_details",
    "officer_name",
    "informant_reference",
)


def markings_for(pointer: str, markings: Mapping[str, str]) -> tuple[str, ...]:
    """Every marking that covers ``pointer``: its own and those of its parents."""
    found = []
    for marked, marking in markings.items():
        # A key that is not a JSON pointer cannot be placed, so it covers the whole event:
        # a marking the service cannot locate must not leave any field unmarked.
        whole_event = marked == "" or not marked.startswith("/")
        if whole_event or pointer == marked or pointer.startswith(marked + "/"):
            found.append(marking)
    return tuple(found)


def subject_protected(subject: Subject) -> bool:
    return subject.is_minor or subject.protected_1367


def _subject_fields(subject: Subject) -> dict[str, FieldValue]:
    return {
        f"subject.{name}": FieldValue(getattr(subject, name), tuple(subject.markings.get(name, ())))
        for name in SUBJECT_FIELDS
    }


def case_record(subject: Subject, case: Case) -> Record:
    fields = _subject_fields(subject)
    for name in CASE_FIELDS:
        fields[f"case.{name}"] = FieldValue(getattr(case, name), tuple(case.markings.get(name, ())))
    return Record(
        fields=fields,
        subject_protected=subject_protected(subject),
        custody_status=case.custody_status,
    )


def event_record(event: CaseEvent, subject: Subject, case: Case) -> Record:
    """What an event says, with the subject's current names: the content of a notice."""
    payload: dict[str, Any] = event.payload
    fields = _subject_fields(subject)
    fields["event.event_type"] = FieldValue(
        event.event_type, markings_for("/event_type", event.markings)
    )
    fields["event.occurred_at"] = FieldValue(
        event.occurred_at, markings_for("/occurred_at", event.markings)
    )
    if "notes" in payload:
        fields["event.notes"] = FieldValue(payload["notes"], markings_for("/notes", event.markings))
    event_case: dict[str, Any] = payload.get("case", {})
    for name, value in event_case.items():
        fields[f"case.{name}"] = FieldValue(value, markings_for(f"/case/{name}", event.markings))
    return Record(
        fields=fields,
        subject_protected=subject_protected(subject),
        # A notice describes the case as the event left it.
        custody_status=event_case.get("custody_status", case.custody_status),
        event_type=event.event_type,
    )
