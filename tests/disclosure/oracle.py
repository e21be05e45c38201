"""The issue's disclosure rules, written out again by hand, independently of the policy file.

Tests compare the compiled policy and the filter against this. It knows field classes (from
the catalogue's data) but no rule of the policy: if the policy and this disagree, one of them
misreads the issue.
"""

from __future__ import annotations

from voice.disclosure.audiences import OUTWARD, Audience
from voice.disclosure.markings import MarkingClass

VERIFIED_CLASSES = frozenset(
    {
        "event_meta",
        "subject_name",
        "country_of_birth",
        "custody_status",
        "immigration_status",
        "proceedings",
        "hearing",
        "release_type",
    }
)
LOCATOR_CLASSES = frozenset({"subject_name", "country_of_birth", "custody_status"})
AUDITOR_CLASSES = frozenset(
    {"event_meta", "system_ref", "case_ref", "custody_status", "proceedings", "marking_meta"}
)
FAIL_CLOSED_MARKINGS = frozenset(
    {MarkingClass.CLASSIFIED, MarkingClass.UNKNOWN, MarkingClass.MALFORMED}
)


def releasable(
    *,
    audience: Audience,
    field_class: str,
    marking: MarkingClass,
    minor: bool = False,
    protected_1367: bool = False,
    safety_hold: bool = False,
    removal_scheduled: bool = False,
    custody: str = "other",
) -> bool:
    if field_class == "unknown" or marking in FAIL_CLOSED_MARKINGS:
        return False
    if audience not in OUTWARD:
        return field_class in AUDITOR_CLASSES if audience is Audience.AUDITOR else True
    if minor or protected_1367 or safety_hold or removal_scheduled:
        return False
    if marking is not MarkingClass.UNCONTROLLED:
        return False
    if audience is Audience.VICTIM_PENDING:
        return field_class in LOCATOR_CLASSES or (
            field_class == "facility_name" and custody == "in_custody"
        )
    if field_class in ("facility_name", "facility_location"):
        # While held there, and the facility left on a release or an escape.
        return custody in ("in_custody", "released", "escaped")
    if field_class == "removal_outcome":
        return custody == "removed"
    return field_class in VERIFIED_CLASSES
