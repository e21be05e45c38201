"""The fast yes of ``voice.ingest.conforms``: it may say yes only where jsonschema finds nothing.

The full report (``contract_problems``) is the reference: over the contract's examples and many
mutations of them, a yes must come with no problem, and valid events must get their yes (or the
fast path would never be taken).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import booking, event
from voice.ingest import conforms
from voice.ingest.validation import CONTRACT_PATH, _certainly_valid, contract_problems

EXAMPLES = [
    json.loads(line)
    for line in (CONTRACT_PATH.parent / "example-events.ndjson").read_text().splitlines()
    if line.strip()
]
SEEDS = [
    *EXAMPLES,
    booking(),
    event("correction", corrects="t-1"),
    event(
        "case.hearing_scheduled",
        case={"hearing_at": "2026-12-01T10:00:00-05:00", "hearing_court": "Example Court"},
        subject={"aliases": ["R. E."], "flags": {"minor": False, "protected_1367": True}},
        markings={"/case/hearing_court": "CUI", "": "(U)"},
    ),
    event(case={"related_persons": [{"role": "witness", "name": "W", "contact": "c"}]}),
]

# Values that sit on the contract's edges: wrong types, near-miss strings, dates and patterns.
EDGE_VALUES: list[Any] = [
    None,
    0,
    1,
    1.5,
    True,
    False,
    "",
    " ",
    "x",
    "enforce\n",
    "Enforce",
    "a" * 65,
    "a" * 129,
    "A1234567",
    "A1234567\n",
    "1234567890",
    "2026-11-02T09:15:00Z",
    "2026-11-02T09:15:00Z\n",
    "2026-11-02T09:15:60Z",
    "2026-13-02T09:15:00Z",
    "2026-11-02",
    "2026-02-30",
    "2026-11-02\n",
    "custody.booked",
    "correction",
    "in_custody",
    "hearing_scheduled",
    "bond",
    "CUI//SP-LEI",
    [],
    ["x"],
    [1],
    {},
    {"x": 1},
    {"minor": True},
    {"role": 1},
]
KEYS = [
    "source",
    "source_event_id",
    "occurred_at",
    "event_type",
    "corrects",
    "subject",
    "case",
    "notes",
    "markings",
    "subject_id",
    "a_number",
    "date_of_birth",
    "flags",
    "minor",
    "aliases",
    "custody_status",
    "proceedings_stage",
    "release_type",
    "hearing_at",
    "scheduled_removal_at",
    "related_persons",
    "role",
    "unknown",
    "/notes",
    "",
]


def _containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if isinstance(value, dict | list) else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _containers(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _containers(item, (*path, index))
    return found


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    candidate = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        target = _at(candidate, draw(st.sampled_from(_containers(candidate) or [()])))
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if isinstance(target, dict) and target and action != "add":
            key = draw(st.sampled_from(sorted(target)))
            if action == "delete":
                del target[key]
            else:
                target[key] = copy.deepcopy(draw(st.sampled_from(EDGE_VALUES)))
        elif isinstance(target, dict):
            target[draw(st.sampled_from(KEYS))] = copy.deepcopy(draw(st.sampled_from(EDGE_VALUES)))
        elif isinstance(target, list):
            target.append(copy.deepcopy(draw(st.sampled_from(EDGE_VALUES))))
    return candidate


def test_every_seed_gets_the_fast_yes() -> None:
    for seed in SEEDS:
        assert contract_problems(seed) == []
        assert _certainly_valid()(seed), seed


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_yes_means_jsonschema_finds_nothing(candidate: Any) -> None:
    if _certainly_valid()(candidate):
        assert contract_problems(candidate) == []


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EDGE_VALUES + SEEDS))
def test_any_value_at_the_top_is_judged_soundly(candidate: Any) -> None:
    if _certainly_valid()(candidate):
        assert contract_problems(candidate) == []


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_free_strings_in_patterned_and_dated_fields(text: str) -> None:
    for path in (
        ("source",),
        ("occurred_at",),
        ("subject", "a_number"),
        ("subject", "date_of_birth"),
    ):
        candidate = copy.deepcopy(booking())
        _at(candidate, path[:-1])[path[-1]] = text
        if _certainly_valid()(candidate):
            assert contract_problems(candidate) == [], path


def test_an_unknown_keyword_gets_no_yes() -> None:
    """A keyword the checks do not know sends every event the slow way."""

    def never(instance: Any, name: str) -> bool:
        return False

    def pattern(source: str) -> conforms.Check:
        return lambda instance: True

    for schema, instance in (({"type": "string", "multipleOf": 2}, "x"), ({"type": "integer"}, 1)):
        check = conforms.compile_schema(schema, pattern=pattern, format_ok=never)
        assert check(instance) is False
