"""Model instances and events for disclosure tests; nothing here touches a database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from voice.cases.models import Case, CaseEvent, Subject

HEARING_AT = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)


def make_subject(**overrides: Any) -> Subject:
    values: dict[str, Any] = {
        "id": 1,
        "source": "enforce",
        "upstream_id": "S-F0001",
        "first_name": "Ramon",
        "middle_name": "Luis",
        "last_name": "Example",
        "aliases": ["R. Example"],
        "a_number": "A200100101",
        "date_of_birth": date(1988, 4, 12),
        "country_of_birth": "Exampleland",
        "country_of_citizenship": "Exampleland",
        "markings": {},
    }
    values.update(overrides)
    return Subject(**values)


def make_case(**overrides: Any) -> Case:
    """A case with every field filled and nothing marked."""
    values: dict[str, Any] = {
        "id": 1,
        "subject_id": 1,
        "case_number": "CASE-F-0001",
        "custody_status": "in_custody",
        "facility_name": "Example Processing Center",
        "facility_city": "Sampletown",
        "facility_state": "TX",
        "immigration_status": "removable",
        "proceedings_stage": "hearing_scheduled",
        "release_type": "bond",
        "release_address": "12 Example Street, Sampletown, TX 75001",
        "hearing_at": HEARING_AT,
        "hearing_court": "Sampletown Immigration Court",
        "scheduled_removal_at": datetime(2027, 1, 5, 6, 0, tzinfo=UTC),
        "removal_port": "Sampletown International Airport",
        "removed_to_country": "Exampleland",
        "transport_details": "Bus 14, leaves 05:00 from bay 3",
        "officer_name": "Officer J. Sample",
        "informant_reference": "CI-4471",
        "markings": {},
    }
    values.update(overrides)
    return Case(**values)


def make_event(
    event_type: str = "custody.booked",
    *,
    case: dict[str, Any] | None = None,
    markings: dict[str, str] | None = None,
    notes: str | None = "Subject was combative at intake.",
) -> CaseEvent:
    payload: dict[str, Any] = {
        "source": "enforce",
        "source_event_id": "f-0001",
        "occurred_at": "2026-11-02T09:15:00Z",
        "event_type": event_type,
        "subject": {"subject_id": "S-F0001"},
        "case": {"case_number": "CASE-F-0001", **(case or {})},
        "markings": markings or {},
    }
    if notes is not None:
        payload["notes"] = notes
    return CaseEvent(
        id=1,
        source="enforce",
        source_event_id="f-0001",
        event_type=event_type,
        occurred_at=datetime(2026, 11, 2, 9, 15, tzinfo=UTC),
        subject_id=1,
        case_id=1,
        payload=payload,
        markings=markings or {},
        payload_sha256="0" * 64,
        receipt_id="00000000-0000-0000-0000-000000000001",
    )


FULL_EVENT_CASE: dict[str, Any] = {
    "custody_status": "in_custody",
    "facility_name": "Example Processing Center",
    "facility_city": "Sampletown",
    "facility_state": "TX",
    "immigration_status": "removable",
    "proceedings_stage": "hearing_scheduled",
    "release_type": "bond",
    "release_address": "12 Example Street, Sampletown, TX 75001",
    "hearing_at": "2026-12-01T14:30:00Z",
    "hearing_court": "Sampletown Immigration Court",
    "scheduled_removal_at": "2027-01-05T06:00:00Z",
    "removal_port": "Sampletown International Airport",
    "transport_details": "Bus 14, leaves 05:00 from bay 3",
    "officer_name": "Officer J. Sample",
    "informant_reference": "CI-4471",
    "related_persons": [{"role": "witness", "name": "Wanda Witness", "contact": "555-0100"}],
}
