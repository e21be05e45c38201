"""Validation of upstream events against the published contract."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.factories import booking, event
from voice.ingest.validation import (
    CONTRACT_PATH,
    InvalidEvent,
    Problem,
    contract_schema,
    validate_event,
)

SHARED_CONTRACT = Path("/work/shared/contract/event.schema.json")
EXAMPLES = CONTRACT_PATH.parent / "example-events.ndjson"


def problems_of(candidate: Any) -> list[Problem]:
    with pytest.raises(InvalidEvent) as caught:
        validate_event(candidate)
    problems = caught.value.problems
    assert problems, "InvalidEvent without problems"
    return problems


def pointers(problems: list[Problem]) -> set[str]:
    return {p.pointer for p in problems}


def example_lines() -> list[str]:
    return [line for line in EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- the contract --------------------------------------------------------------------------------


def test_every_example_event_validates() -> None:
    lines = example_lines()
    assert len(lines) >= 3
    for number, line in enumerate(lines, start=1):
        candidate = json.loads(line)
        assert validate_event(candidate) == candidate, f"line {number}"


def test_factory_events_validate() -> None:
    for candidate in (event(), booking(), event("correction", corrects="t-1")):
        assert validate_event(candidate) is candidate


def test_contract_is_byte_identical_to_the_shared_contract() -> None:
    if not SHARED_CONTRACT.exists():
        pytest.skip(f"{SHARED_CONTRACT} is not present; nothing to compare against")
    assert CONTRACT_PATH.read_bytes() == SHARED_CONTRACT.read_bytes()


def test_contract_schema_is_the_file_and_declares_2020_12() -> None:
    schema = contract_schema()
    assert schema == json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]


# --- reporting every problem ---------------------------------------------------------------------


def test_every_problem_is_reported_with_a_pointer() -> None:
    candidate: dict[str, Any] = booking()
    del candidate["occurred_at"]  # missing required member
    candidate["colour"] = "red"  # extra property
    candidate["event_type"] = "custody.vanished"  # bad enum
    candidate["source"] = "Bad Source!"  # bad pattern
    candidate["subject"]["a_number"] = "B-12"  # bad pattern, nested
    candidate["subject"]["nickname"] = "Ray"  # extra property, nested
    candidate["subject"]["flags"] = {"minor": "yes"}  # bad type, deeper
    candidate["case"]["custody_status"] = "jailed"  # bad enum, nested
    candidate["case"]["cell"] = "B-4"  # extra property, nested
    candidate["case"]["hearing_at"] = "next tuesday"  # bad date-time
    candidate["case"]["related_persons"] = [{"role": "witness", "phone": "555"}]

    problems = problems_of(candidate)

    assert pointers(problems) == {
        "/occurred_at",
        "/colour",
        "/event_type",
        "/source",
        "/subject/a_number",
        "/subject/nickname",
        "/subject/flags/minor",
        "/case/custody_status",
        "/case/cell",
        "/case/hearing_at",
        "/case/related_persons/0/phone",
    }
    by_pointer = {p.pointer: p.message for p in problems}
    assert by_pointer["/occurred_at"] == "'occurred_at' is required"
    assert by_pointer["/colour"] == "this property is not allowed"
    assert by_pointer["/case/cell"] == "this property is not allowed"
    assert by_pointer["/event_type"].startswith("must be one of: ")
    assert "custody.booked" in by_pointer["/event_type"]
    assert by_pointer["/source"].startswith("must match the pattern")
    assert by_pointer["/case/hearing_at"] == "must be a valid date-time"
    assert by_pointer["/subject/flags/minor"] == "must be of type boolean"


def test_problems_are_sorted_and_unique() -> None:
    candidate = event(event_type="nope", occurred_at="yesterday")
    candidate["zzz"] = 1
    candidate["aaa"] = 1
    problems = problems_of(candidate)
    assert problems == sorted(set(problems), key=lambda p: (p.pointer, p.message))


@pytest.mark.parametrize(
    ("missing", "pointer"),
    [
        (("source",), "/source"),
        (("source_event_id",), "/source_event_id"),
        (("occurred_at",), "/occurred_at"),
        (("event_type",), "/event_type"),
        (("subject",), "/subject"),
        (("subject", "subject_id"), "/subject/subject_id"),
    ],
)
def test_missing_required_member_points_at_the_member(
    missing: tuple[str, ...], pointer: str
) -> None:
    candidate = event()
    parent: dict[str, Any] = candidate
    for key in missing[:-1]:
        parent = parent[key]
    del parent[missing[-1]]
    problems = problems_of(candidate)
    assert [(p.pointer, p.message) for p in problems] == [(pointer, f"'{missing[-1]}' is required")]


def test_several_missing_members_each_get_a_problem() -> None:
    problems = problems_of({"subject": {}})
    assert pointers(problems) == {
        "/source",
        "/source_event_id",
        "/occurred_at",
        "/event_type",
        "/subject/subject_id",
    }


def test_extra_property_pointer_escapes_json_pointer_characters() -> None:
    candidate = event()
    candidate["a/b"] = 1
    candidate["c~d"] = 1
    assert pointers(problems_of(candidate)) == {"/a~1b", "/c~0d"}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("event_type",), "custody.booked ", "must be one of"),
        (("case", "proceedings_stage"), "arraigned", "must be one of"),
        (("case", "release_type"), "escape", "must be one of"),
        (("source",), "UPPER", "must match the pattern"),
        (("source",), "", "must match the pattern"),
        (("subject", "a_number"), "A12", "must match the pattern"),
        (("occurred_at",), "2026-11-02", "must be a valid date-time"),
        (("occurred_at",), "2026-11-02T09:15:00", "must be a valid date-time"),
        (("case", "scheduled_removal_at"), "soon", "must be a valid date-time"),
        (("subject", "date_of_birth"), "1988-02-30", "must be a valid date"),
        (("source_event_id",), "", "minLength"),
        (("source_event_id",), "x" * 129, "maxLength"),
        (("subject", "aliases"), "Ray", "must be of type array"),
        (("markings", "/notes"), 3, "must be of type string"),
        (("notes",), ["a"], "must be of type string"),
        (("case",), "CASE-1", "must be of type object"),
    ],
)
def test_single_problem_kinds(path: tuple[str, ...], value: Any, message: str) -> None:
    candidate = event(markings={})
    parent: dict[str, Any] = candidate
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    problems = problems_of(candidate)
    expected = "".join("/" + key.replace("~", "~0").replace("/", "~1") for key in path)
    assert pointers(problems) == {expected}
    assert message in problems[0].message


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("source",), "enforce\n"),
        (("subject", "a_number"), "A200100101\n"),
    ],
)
def test_patterns_are_anchored_at_the_very_end(path: tuple[str, ...], value: str) -> None:
    """JSON Schema patterns are ECMA-262: ``$`` does not match before a trailing newline.

    A source of "enforce\\n" would otherwise be a second idempotency namespace for the same
    upstream system, with its own subjects.
    """
    candidate = event()
    parent: dict[str, Any] = candidate
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    problems = problems_of(candidate)
    assert pointers(problems) == {"/" + "/".join(path)}
    assert problems[0].message.startswith("must match the pattern")


@pytest.mark.parametrize("candidate", [None, [], "event", 3, [event()]])
def test_non_object_events_are_problems_not_exceptions(candidate: Any) -> None:
    problems = problems_of(candidate)
    assert pointers(problems) == {""}
    assert problems[0].message == "must be of type object"


# --- messages never echo values ------------------------------------------------------------------

SECRET_NOTE = "Informant Jane Roe lives at 5 Elm Street, Sampletown"


def test_messages_never_echo_the_offending_values() -> None:
    candidate: dict[str, Any] = booking()
    candidate["source"] = "Bad Source Quoting Jane Roe"
    candidate["notes"] = [SECRET_NOTE]
    candidate["event_type"] = "custody.Jane-Roe-leak"
    candidate["subject"]["a_number"] = "A-Jane-Roe"
    candidate["subject"]["date_of_birth"] = "Jane Roe birthday"
    candidate["case"]["release_address"] = {"street": SECRET_NOTE}
    candidate["case"]["custody_status"] = "Jane Roe custody"
    candidate["case"]["hearing_at"] = "Jane Roe hearing"
    candidate["case"]["related_persons"] = [{"name": "Jane Roe", "contact": 5551234}]
    candidate["markings"] = {"/notes": ["Jane Roe marking"]}
    candidate["source_event_id"] = ""

    problems = problems_of(candidate)

    assert len(problems) >= 10
    for problem in problems:
        assert "Jane" not in problem.message, problem
        assert "Roe" not in problem.message, problem
        assert "5551234" not in problem.message, problem
        assert "Elm" not in problem.message, problem
    rendered = json.dumps([p.as_dict() for p in problems])
    assert "Jane" not in rendered
    assert "Elm" not in rendered


def test_problem_as_dict() -> None:
    assert Problem("/source", "must match").as_dict() == {
        "pointer": "/source",
        "detail": "must match",
    }


def test_invalid_event_message_counts_without_quoting() -> None:
    candidate = event(notes=[SECRET_NOTE])
    with pytest.raises(InvalidEvent) as caught:
        validate_event(candidate)
    assert str(caught.value) == "1 problem(s) in the event"
    assert isinstance(caught.value, ValueError)


# --- timestamps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [("occurred_at",), ("case", "hearing_at"), ("case", "scheduled_removal_at")],
)
def test_a_leap_second_is_a_problem_not_an_exception(path: tuple[str, ...]) -> None:
    candidate = event()
    parent: dict[str, Any] = candidate
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = "2026-12-31T23:59:60Z"
    problems = problems_of(candidate)
    assert pointers(problems) == {"/" + "/".join(path)}


def test_a_leap_second_is_reported_alongside_other_problems() -> None:
    candidate = event(occurred_at="2026-12-31T23:59:60Z", event_type="custody.vanished")
    assert pointers(problems_of(candidate)) == {"/occurred_at", "/event_type"}


@pytest.mark.parametrize(
    "path",
    [("occurred_at",), ("case", "hearing_at"), ("case", "scheduled_removal_at")],
)
@pytest.mark.parametrize("stamp", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_an_instant_outside_the_storable_range_is_a_problem(
    path: tuple[str, ...], stamp: str
) -> None:
    """Valid RFC 3339, but in UTC the instant falls in year 10000 or year 0: it cannot be stored."""
    candidate = event()
    parent: dict[str, Any] = candidate
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = stamp
    assert pointers(problems_of(candidate)) == {"/" + "/".join(path)}


def test_an_unstorable_timestamp_is_reported_alongside_other_problems() -> None:
    # The schema's date-time format lets the trailing newline through; only the storability
    # check catches it, and it must not wait until every other problem has been fixed.
    candidate = event(occurred_at="2026-11-02T09:15:00Z\n", event_type="custody.vanished")
    candidate["case"]["hearing_at"] = "2026-12-01T14:30:00Z\n"
    assert pointers(problems_of(candidate)) == {"/occurred_at", "/event_type", "/case/hearing_at"}


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-11-02T09:15:00Z",
        "2026-11-02T09:15:00+02:00",
        "2026-11-02T09:15:00.123456Z",
        "2026-11-02T09:15:00-05:30",
    ],
)
def test_valid_timestamps_pass(stamp: str) -> None:
    candidate = event(occurred_at=stamp, case={"hearing_at": stamp})
    assert validate_event(candidate) is candidate


def test_validation_does_not_modify_the_candidate() -> None:
    candidate = booking()
    candidate["colour"] = "red"
    before = copy.deepcopy(candidate)
    problems_of(candidate)
    assert candidate == before
