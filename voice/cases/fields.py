"""What a subject and a case hold, and what each event type implies about them.

The one list of the fields events may set, read by the case fold and by the disclosure
filter's records alike. Markings arrive as JSON pointers into an event. A field carries every
marking whose pointer is that field or one of its parents (``""`` marks the whole event,
``/case`` the whole case).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

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


class SubjectState(Protocol):
    """What the fold and the filter's records read and set of a subject, beside its
    ``SUBJECT_FIELDS`` (set and read by name): a ``Subject``, or a plain copy of one's columns
    (bulk ingest folds a batch on those and writes each row once)."""

    id: int | None
    is_minor: bool
    protected_1367: bool
    markings: dict[str, list[str]]
    last_event_at: datetime | None


class CaseState(Protocol):
    """As ``SubjectState``, for a case and its ``CASE_FIELDS``."""

    id: int | None
    subject_id: int
    custody_status: str | None
    markings: dict[str, list[str]]
    last_event_at: datetime | None


# State that an event type implies when the event does not say it outright.
IMPLIED_STATE: dict[str, dict[str, str]] = {
    "custody.booked": {"custody_status": "in_custody"},
    "custody.transferred": {"custody_status": "in_custody"},
    "custody.returned": {"custody_status": "in_custody"},
    "custody.released": {"custody_status": "released"},
    "custody.escaped": {"custody_status": "escaped"},
    "custody.deceased": {"custody_status": "deceased"},
    "removal.completed": {"custody_status": "removed"},
    "case.proceedings_initiated": {"proceedings_stage": "initiated"},
    "case.hearing_scheduled": {"proceedings_stage": "hearing_scheduled"},
    "case.removal_ordered": {"proceedings_stage": "removal_ordered"},
    "case.relief_granted": {"proceedings_stage": "relief_granted"},
    "case.appeal_filed": {"proceedings_stage": "on_appeal"},
    "case.closed": {"proceedings_stage": "closed"},
}
# The custody status each event type implies, as the case fold applies it.
IMPLIED_CUSTODY = {
    event_type: state["custody_status"]
    for event_type, state in IMPLIED_STATE.items()
    if "custody_status" in state
}


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
