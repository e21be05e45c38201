"""Per-field plans: the decision table laid out by field name, for the filter's inner loop.

For each audience and combination of harm flags, every catalogued field gets its decision when
unmarked (its default marking) and one per marking class, already turned into either ``None``
(release) or the ``Withheld`` entry to report. The filter then does one dictionary lookup per
field and allocates nothing for a withheld one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from voice.disclosure.catalogue import Catalogue
from voice.disclosure.compiler import (
    FLAG_COMBINATIONS,
    MARKING_INDEX,
    UNKNOWN_CLASS,
    Decision,
    DecisionTable,
)
from voice.disclosure.markings import MarkingClass


@dataclass(frozen=True)
class Withheld:
    """One withheld field: which, by which rule (``reason`` is the rule id), on what basis."""

    field: str
    reason: str
    basis: str = ""

    @property
    def rule_id(self) -> str:
        return self.reason


Result = Withheld | None  # None: released
# (result when unmarked, results by marking class in MARKING_ORDER)
FieldPlan = tuple[Result, tuple[Result, ...]]


@dataclass(frozen=True)
class Plans:
    # audience -> flag key -> field name -> plan
    by_field: Mapping[str, tuple[Mapping[str, FieldPlan], ...]]
    # audience -> flag key -> decisions by marking class, for fields not in the catalogue
    unknown: Mapping[str, tuple[tuple[Decision, ...], ...]]

    def unknown_plan(self, audience: str, key: int, name: str) -> FieldPlan:
        results = tuple(_result(name, decision, {}) for decision in self.unknown[audience][key])
        return results[MARKING_INDEX[_UNMARKED_UNKNOWN]], results


# An unknown field has no default marking: unmarked, it counts as marked "unknown".
_UNMARKED_UNKNOWN = MarkingClass.UNKNOWN


def _result(name: str, decision: Decision, cache: dict[tuple[str, Decision], Withheld]) -> Result:
    if decision.release:
        return None
    key = (name, decision)
    found = cache.get(key)
    if found is None:
        found = cache[key] = Withheld(name, decision.rule_id, decision.basis)
    return found


def build_plans(table: DecisionTable, catalogue: Catalogue, audiences: tuple[str, ...]) -> Plans:
    cache: dict[tuple[str, Decision], Withheld] = {}
    by_field: dict[str, tuple[Mapping[str, FieldPlan], ...]] = {}
    unknown: dict[str, tuple[tuple[Decision, ...], ...]] = {}
    for audience in audiences:
        per_key: list[Mapping[str, FieldPlan]] = []
        unknown_per_key: list[tuple[Decision, ...]] = []
        for key in range(FLAG_COMBINATIONS):
            by_class = table.cells[(audience, key)]
            plans: dict[str, FieldPlan] = {}
            for name, spec in catalogue.fields.items():
                results = tuple(_result(name, d, cache) for d in by_class[spec.field_class])
                plans[name] = (results[MARKING_INDEX[spec.default_class]], results)
            per_key.append(MappingProxyType(plans))
            unknown_per_key.append(by_class[UNKNOWN_CLASS])
        by_field[audience] = tuple(per_key)
        unknown[audience] = tuple(unknown_per_key)
    return Plans(MappingProxyType(by_field), MappingProxyType(unknown))
