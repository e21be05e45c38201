"""The event-type catalogue: what a partner may subscribe to, and the JSON Schema of each payload.

A payload is the Standard Webhooks envelope ``{type, timestamp, data}``. ``data`` holds VOICE's
case id (the id of ``GET /api/v1/partner/cases/{case_id}``) and what the disclosure filter
released of the event for the partner audience, grouped as ``event``, ``subject`` and ``case``.
Every field is optional, because the filter may withhold any of them, and no other field is
allowed: ``PARTNER_FIELDS`` lists all the filter can release to partners under the policy in
``policies/`` (a test holds the two in step). ``timestamp`` is when VOICE emitted the delivery,
not when the event happened: that is case data, and only the filter may release it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator

from voice.disclosure.release import DisclosedView

SCHEMA_BASE = "https://voice.example/webhooks/event-types/"
CORRECTION = "correction"

_TEXT: dict[str, Any] = {"type": "string"}
_DATE_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
# The value sets are the upstream contract's (voice/ingest/contract/event.schema.json).
_CUSTODY = ["in_custody", "released", "escaped", "removed", "deceased", "not_in_custody"]
_PROCEEDINGS = [
    "none",
    "initiated",
    "hearing_scheduled",
    "removal_ordered",
    "relief_granted",
    "on_appeal",
    "closed",
]
_RELEASE_TYPES = [
    "bond",
    "order_of_recognizance",
    "order_of_supervision",
    "parole",
    "alternatives_to_detention",
    "court_order",
    "relief_granted",
    "other",
]

# Every field the policy can release to the partner audience, with its schema.
PARTNER_FIELDS: Mapping[str, dict[str, Any]] = MappingProxyType(
    {
        "event.event_type": _TEXT,
        "event.occurred_at": _DATE_TIME,
        "subject.first_name": _TEXT,
        "subject.middle_name": _TEXT,
        "subject.last_name": _TEXT,
        "subject.country_of_birth": _TEXT,
        "case.custody_status": {"type": "string", "enum": _CUSTODY},
        "case.facility_name": _TEXT,
        "case.facility_city": _TEXT,
        "case.facility_state": _TEXT,
        "case.immigration_status": _TEXT,
        "case.proceedings_stage": {"type": "string", "enum": _PROCEEDINGS},
        "case.release_type": {"type": "string", "enum": _RELEASE_TYPES},
        "case.hearing_at": _DATE_TIME,
        "case.hearing_court": _TEXT,
        "case.removed_to_country": _TEXT,
    }
)


@dataclass(frozen=True)
class EventType:
    name: str
    description: str


EVENT_TYPES: tuple[EventType, ...] = (
    EventType("custody.booked", "The subject was booked into custody."),
    EventType("custody.transferred", "The subject was moved to another facility."),
    EventType("custody.released", "The subject was released from custody."),
    EventType("custody.escaped", "The subject escaped from custody."),
    EventType("custody.returned", "The subject was returned to custody."),
    EventType("custody.deceased", "The subject died in custody."),
    EventType("custody.detainer_lodged", "A detainer was lodged for the subject."),
    EventType("case.proceedings_initiated", "Immigration proceedings began."),
    EventType("case.hearing_scheduled", "A hearing was scheduled."),
    EventType("case.removal_ordered", "An immigration judge ordered removal."),
    EventType("case.relief_granted", "Relief from removal was granted."),
    EventType("case.appeal_filed", "An appeal was filed."),
    EventType("case.closed", "The immigration case was closed."),
    # removal.scheduled is never disclosed outside staff views, so it is not offered at all.
    EventType("removal.completed", "The subject was removed, after the fact."),
    EventType(CORRECTION, "An earlier event was retracted; sent to each endpoint that got it."),
)
NAMES = frozenset(t.name for t in EVENT_TYPES)


def _group(area: str) -> dict[str, Any]:
    props = {
        name.partition(".")[2]: schema
        for name, schema in PARTNER_FIELDS.items()
        if name.startswith(area + ".")
    }
    return {"type": "object", "additionalProperties": False, "properties": props}


def payload_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema (2020-12) of a delivery of ``event_type``."""
    if event_type not in NAMES:
        raise KeyError(event_type)
    data: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["case_id", "event"],
        "properties": {
            "case_id": {"type": "integer", "minimum": 1},
            "event": _group("event"),
            "subject": _group("subject"),
            "case": _group("case"),
        },
    }
    if event_type == CORRECTION:
        data["required"] = ["case_id", "event", "retracts"]
        data["properties"]["retracts"] = {
            "type": "object",
            "additionalProperties": False,
            "required": ["message_id"],
            "properties": {
                "message_id": {"type": "string", "description": "webhook-id it retracts"},
                "event_type": _TEXT,
            },
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}{event_type}.schema.json",
        "title": f"VOICE webhook: {event_type}",
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"const": event_type},
            "timestamp": _DATE_TIME,
            "data": data,
        },
    }


def published() -> list[dict[str, Any]]:
    """The catalogue as ``GET /api/v1/webhooks/event-types`` and the docs publish it."""
    return [
        {"type": t.name, "description": t.description, "schema": payload_schema(t.name)}
        for t in EVENT_TYPES
    ]


@cache
def validator(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(
        payload_schema(event_type), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def is_valid(payload: Mapping[str, Any]) -> bool:
    event_type = payload.get("type")
    if not isinstance(event_type, str) or event_type not in NAMES:
        return False
    return bool(validator(event_type).is_valid(payload))


def payload_from_view(
    *, event_type: str, case_id: int, view: DisclosedView, emitted_at: datetime
) -> dict[str, Any] | None:
    """Shape a partner-audience view (the one door's output) as a payload, or None.

    None when the view does not release the event's type (a hold, a protected subject): the
    partner is then told nothing at all. Only fields in ``PARTNER_FIELDS`` are copied, so a
    policy change that releases more to partners cannot widen payloads past the schema.
    """
    if "event.event_type" not in view.released or event_type not in NAMES:
        return None
    data: dict[str, Any] = {"case_id": case_id, "event": {}}
    for name, value in view.released.items():
        if name in PARTNER_FIELDS:
            area, _, field = name.partition(".")
            data.setdefault(area, {})[field] = value
    return {"type": event_type, "timestamp": emitted_at.isoformat(), "data": data}
