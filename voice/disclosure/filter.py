"""The disclosure filter: the one door through which case data leaves the service.

It fails closed. A field is released only when the policy lists it for the audience, no marking
on it is anything but plainly uncontrolled, and no harm rule applies. Any error inside the
filter withholds everything.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from voice.disclosure.audiences import Audience
from voice.disclosure.markings import MarkingClass, classify, classify_text
from voice.disclosure.policy import Policy

log = logging.getLogger(__name__)

# Reason codes, shown to staff and kept in the accounting of disclosures; never to victims.
NOT_RELEASED = "policy.not_released"
PROTECTED_PERSON = "harm.protected_person"
NEVER_DISCLOSED_EVENT = "harm.never_disclosed_event_type"
CONDITION_NOT_MET = "policy.condition_not_met"
FAIL_CLOSED = "error.fail_closed"


@dataclass(frozen=True)
class FieldValue:
    value: Any
    markings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Record:
    """Everything the filter needs about one case or event, keyed ``area.field``."""

    fields: Mapping[str, FieldValue]
    subject_protected: bool
    custody_status: str | None
    event_type: str | None = None


@dataclass(frozen=True)
class Withheld:
    field: str
    reason: str


@dataclass(frozen=True)
class DisclosedView:
    audience: Audience
    released: Mapping[str, Any]
    withheld: tuple[Withheld, ...] = field(default_factory=tuple)

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
            withheld=tuple(Withheld(name, FAIL_CLOSED) for name in sorted(record.fields)),
        )


def _decide(record: Record, audience: Audience, policy: Policy) -> DisclosedView:
    releasable = policy.releasable.get(audience, frozenset())
    released: dict[str, Any] = {}
    withheld: list[Withheld] = []
    blanket = _blanket_reason(record, policy)
    for name in sorted(record.fields):
        value = record.fields[name]
        if value.value is None or value.value == [] or value.value == "":
            continue
        reason = blanket or _field_reason(name, value, record, releasable, policy)
        if reason is None:
            released[name] = _json_safe(value.value)
        else:
            withheld.append(Withheld(name, reason))
    return DisclosedView(audience, MappingProxyType(released), tuple(withheld))


def _blanket_reason(record: Record, policy: Policy) -> str | None:
    if record.subject_protected:
        return PROTECTED_PERSON
    if record.event_type is not None and record.event_type in policy.never_disclosed_event_types:
        return NEVER_DISCLOSED_EVENT
    return None


def _field_reason(
    name: str, value: FieldValue, record: Record, releasable: frozenset[str], policy: Policy
) -> str | None:
    if name not in releasable:
        return NOT_RELEASED
    for marking in value.markings:
        marking_class = classify(marking)
        if marking_class is not MarkingClass.UNCONTROLLED:
            return f"marking.{marking_class.value}"
    if isinstance(value.value, str):
        # Portion marks inside the value itself, on any line, count like a marking.
        text_class = classify_text(value.value)
        if text_class is not MarkingClass.UNCONTROLLED:
            return f"marking.{text_class.value}"
    allowed_statuses = policy.custody_conditions.get(name)
    if allowed_statuses is not None and record.custody_status not in allowed_statuses:
        return CONDITION_NOT_MET
    return None


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool):
        return value
    # Lists and objects are never on any release list; reaching here means a policy error.
    raise TypeError("only scalar fields can be released")
