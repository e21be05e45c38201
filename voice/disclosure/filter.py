"""The disclosure filter: the one door through which case data leaves the service.

It fails closed. Each field is decided by the policy's compiled decision table (policy.py):
by its field class from the catalogue, its marking class (the markings on it and any portion
mark in its value, or else its class's default marking), the audience, and the record's harm
flags. A field that is not in the catalogue is withheld. Any error inside the filter withholds
everything.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from voice.disclosure.audiences import OUTWARD, Audience
from voice.disclosure.plans import FieldPlan, Withheld
from voice.disclosure.policy import Policy
from voice.disclosure.portions import marking_index_of_markings, marking_index_of_value

__all__ = ["DisclosedView", "FieldValue", "Record", "Withheld", "disclose"]

log = logging.getLogger(__name__)

FAIL_CLOSED = "error.fail_closed"
REMOVAL_SCHEDULED = "removal.scheduled"
_CUSTODY_INDEX = {"in_custody": 0, "removed": 1, "released": 3, "escaped": 4}  # CUSTODY_STATES
_OTHER_CUSTODY = 2


class FieldValue(NamedTuple):
    # A named tuple, not a dataclass: records are built a field at a time on every read, and
    # a frozen dataclass costs several times as much to construct.
    value: Any
    markings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Record:
    """Everything the filter needs about one case or event, keyed ``area.field``.

    ``subject_protected`` says the subject is a minor or protected by 8 U.S.C. 1367; where the
    caller knows which, ``subject_minor`` and ``subject_1367`` say so (for the basis given).
    """

    fields: Mapping[str, FieldValue]
    subject_protected: bool
    custody_status: str | None
    event_type: str | None = None
    subject_minor: bool | None = None
    subject_1367: bool | None = None
    safety_hold: bool = False

    def flag_key(self) -> int:
        """The index of this record's harm flags and custody state (compiler.flag_key)."""
        minor = self.subject_protected if self.subject_minor is None else self.subject_minor
        p1367 = self.subject_protected if self.subject_1367 is None else self.subject_1367
        if self.subject_protected and not (minor or p1367):
            minor = p1367 = True  # protected, but the caller said by neither: assume both
        # Inlined compiler.flag_key (a test holds the two equal): this runs once per record.
        return (
            bool(minor)
            | bool(p1367) << 1
            | bool(self.safety_hold) << 2
            | (self.event_type == REMOVAL_SCHEDULED) << 3
            | _CUSTODY_INDEX.get(self.custody_status or "", _OTHER_CUSTODY) << 4
        )


@dataclass(frozen=True)
class DisclosedView:
    audience: Audience
    released: Mapping[str, Any]
    withheld: tuple[Withheld, ...] = field(default_factory=tuple)
    # For victims and partners when nothing at all may be released: the policy's neutral
    # message, the same whatever the reason, so it hints at none.
    message: str | None = None

    def nested(self) -> dict[str, dict[str, Any]]:
        """``{"case": {"custody_status": ...}, ...}``: the shape templates and responses use."""
        out: dict[str, dict[str, Any]] = {}
        for key, value in self.released.items():
            area, _, name = key.partition(".")
            out.setdefault(area, {})[name] = value
        return out


def disclose(record: Record, *, audience: Audience, policy: Policy) -> DisclosedView:
    try:
        return _decide(record, audience, policy)
    except Exception as exc:
        # Only the exception type is logged: its text could quote the data being filtered.
        log.error("disclosure filter failed (%s); withholding everything", type(exc).__name__)
        return DisclosedView(
            audience=audience,
            released=MappingProxyType({}),
            withheld=tuple(
                Withheld(name, FAIL_CLOSED, "VOICE fail-closed") for name in sorted(record.fields)
            ),
            message=policy.neutral_message if audience in OUTWARD else None,
        )


def _decide(record: Record, audience: Audience, policy: Policy) -> DisclosedView:
    key = record.flag_key()
    plans = policy.plans.by_field[audience][key]
    released: dict[str, Any] = {}
    withheld: list[Withheld] = []
    # The inner loop is the filter's hot path (bench/disclosure_throughput.py): plain strings
    # without "(" or "//" cannot carry a mark, so they take the field's unmarked decision.
    for name, field_value in record.fields.items():
        value = field_value.value
        plan: FieldPlan | None = plans.get(name)
        if plan is None:
            plan = policy.plans.unknown_plan(audience, key, name)
        markings = field_value.markings
        if type(value) is str:
            if not value:
                continue
            scan = "(" in value or "//" in value
        elif value is None or value == []:
            continue
        else:
            scan = isinstance(value, list | dict)
        if scan:
            index = max(marking_index_of_markings(markings), marking_index_of_value(value))
            # No mark found anywhere: the field takes its default marking.
            result = plan[0] if index < 0 else plan[1][index]
        elif markings:
            result = plan[1][marking_index_of_markings(markings)]
        else:
            result = plan[0]
        if result is None:
            released[name] = value if type(value) is str else _json_safe(value)
        else:
            withheld.append(result)
    message = None
    if not released and audience in OUTWARD:
        message = policy.neutral_message
    return DisclosedView(audience, MappingProxyType(released), tuple(withheld), message)


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool):
        return value
    # Structured values (lists of aliases, related persons) only ever reach staff views; a
    # JSON round trip hands out a copy that holds nothing but JSON types, or raises.
    return json.loads(json.dumps(value, allow_nan=False))
