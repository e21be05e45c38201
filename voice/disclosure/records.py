"""Turning stored subjects, cases and events into filter records.

Markings arrive as JSON pointers into an event. A field carries every marking whose pointer is
that field or one of its parents (``""`` marks the whole event, ``/case`` the whole case).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voice.cases.fields import (
    CASE_FIELDS,
    IMPLIED_CUSTODY,
    SUBJECT_FIELDS,
    CaseState,
    SubjectState,
    markings_for,
)
from voice.cases.models import CaseEvent
from voice.disclosure.filter import FieldValue, Record


def subject_protected(subject: SubjectState) -> bool:
    return subject.is_minor or subject.protected_1367


def _subject_fields(subject: SubjectState) -> dict[str, FieldValue]:
    markings = subject.markings
    return {
        f"subject.{name}": FieldValue(getattr(subject, name), tuple(markings.get(name, ())))
        for name in SUBJECT_FIELDS
    }


# What case_record_of reads from a subject row and a case row: the columns it needs, in order.
SUBJECT_COLUMNS = (*SUBJECT_FIELDS, "markings", "is_minor", "protected_1367")
CASE_COLUMNS = (*CASE_FIELDS, "markings")


def case_record(subject: SubjectState, case: CaseState, *, safety_hold: bool = False) -> Record:
    return case_record_of(
        {name: getattr(subject, name) for name in SUBJECT_COLUMNS},
        {name: getattr(case, name) for name in CASE_COLUMNS},
        safety_hold=safety_hold,
    )


def case_record_of(
    subject: Mapping[str, Any], case: Mapping[str, Any], *, safety_hold: bool = False
) -> Record:
    """A case's record from its subject's and its own column values (``*_COLUMNS``).

    Plain mappings, so that a hot read can hand over rows straight from the database.
    """
    fields: dict[str, FieldValue] = {}
    marked: Mapping[str, Any] = subject["markings"]
    for name in SUBJECT_FIELDS:
        fields[f"subject.{name}"] = FieldValue(subject[name], tuple(marked.get(name, ())))
    marked = case["markings"]
    for name in CASE_FIELDS:
        fields[f"case.{name}"] = FieldValue(case[name], tuple(marked.get(name, ())))
    minor, p1367 = bool(subject["is_minor"]), bool(subject["protected_1367"])
    return Record(
        fields=fields,
        subject_protected=minor or p1367,
        custody_status=case["custody_status"],
        subject_minor=minor,
        subject_1367=p1367,
        safety_hold=safety_hold,
    )


def event_record(
    event: CaseEvent, subject: SubjectState, case: CaseState, *, safety_hold: bool = False
) -> Record:
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
        subject_minor=subject.is_minor,
        subject_1367=subject.protected_1367,
        safety_hold=safety_hold,
    )


def payload_record(payload: Mapping[str, Any], *, safety_hold: bool = False) -> Record:
    """What a raw event says, on its own: for ``voice policy explain`` and the tests.

    Every field the event carries is in the record (unknown ones too, so they are reported as
    withheld), and the custody status is the one the event states or implies.
    """
    markings: Mapping[str, str] = payload.get("markings") or {}
    fields: dict[str, FieldValue] = {}
    for name in ("event_type", "occurred_at", "notes", "corrects"):
        if name in payload:
            fields[f"event.{name}"] = FieldValue(payload[name], markings_for(f"/{name}", markings))
    subject_in: Mapping[str, Any] = payload.get("subject") or {}
    for name, value in subject_in.items():
        if name not in ("subject_id", "flags"):
            fields[f"subject.{name}"] = FieldValue(
                value, markings_for(f"/subject/{name}", markings)
            )
    case_in: Mapping[str, Any] = payload.get("case") or {}
    for name, value in case_in.items():
        fields[f"case.{name}"] = FieldValue(value, markings_for(f"/case/{name}", markings))
    flags: Mapping[str, Any] = subject_in.get("flags") or {}
    event_type = payload.get("event_type")
    implied = IMPLIED_CUSTODY.get(event_type) if isinstance(event_type, str) else None
    return Record(
        fields=fields,
        subject_protected=bool(flags.get("minor")) or bool(flags.get("protected_1367")),
        custody_status=case_in.get("custody_status", implied),
        event_type=event_type if isinstance(event_type, str) else None,
        subject_minor=bool(flags.get("minor")),
        subject_1367=bool(flags.get("protected_1367")),
        safety_hold=safety_hold,
    )
