"""Spotting spillage: a classified marking anywhere in an event, whether it is valid or not.

Ingest quarantines what this finds (``voice.ingest.quarantine``); staff tools refuse to explain
it.
"""

from __future__ import annotations

from typing import Any

from voice.disclosure.markings import MarkingClass, classify
from voice.disclosure.portions import holds_classified_mark

RULE_MARKING = "spillage.classified_marking"
RULE_PORTION_MARK = "spillage.classified_portion_mark"


def scan(candidate: Any) -> str | None:
    """The spillage rule an event (valid or not) breaks, or None.

    A classified marking in the markings map, or a classified portion mark, inline mark or
    banner in any string anywhere in the event (keys included).
    """
    markings = candidate.get("markings") if isinstance(candidate, dict) else None
    if isinstance(markings, dict):
        for marking in markings.values():
            if isinstance(marking, str) and classify(marking) is MarkingClass.CLASSIFIED:
                return RULE_MARKING
    if holds_classified_mark(candidate):
        return RULE_PORTION_MARK
    return None
