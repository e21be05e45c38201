"""Validation against the published event contract (JSON Schema 2020-12).

Every problem is reported, each located by a JSON pointer, so an upstream system can fix a bad
event in one round trip.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from rfc3339_validator import validate_rfc3339

from voice.cases.service import parse_datetime
from voice.ingest import conforms

CONTRACT_PATH = Path(__file__).resolve().parent / "contract" / "event.schema.json"


@dataclass(frozen=True)
class Problem:
    pointer: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "detail": self.message}


class InvalidEvent(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the event")
        self.problems = problems


@lru_cache(maxsize=1)
def contract_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    return schema


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """``pattern`` as JSON Schema means it (ECMA-262): ``$`` is the very end of the string.

    Python's ``$`` also matches before a final newline, which would let ``"enforce\n"`` in as
    a source of its own.
    """
    if isinstance(instance, str) and not _compiled(pattern).search(instance):
        yield ValidationError(f"does not match {pattern!r}")


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


def _is_datetime(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    # The validator's own regex, like Python's $, lets a trailing newline through.
    return bool(validate_rfc3339(instance)) and not instance.endswith("\n")


_FORMATS = FormatChecker()
_FORMATS.checks("date-time")(_is_datetime)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = contract_schema()
    Draft202012Validator.check_schema(schema)
    contract_validator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})
    validator: Draft202012Validator = contract_validator(schema, format_checker=_FORMATS)
    return validator


def _escape(token: object) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _pointer(path: list[object]) -> str:
    return "".join("/" + _escape(token) for token in path)


def _problems_of(error: ValidationError) -> list[Problem]:
    base = list(error.absolute_path)
    # Point at the offending member itself, not its parent, for missing and unexpected keys.
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [k for k in error.validator_value if k not in error.instance]
        return [Problem(_pointer([*base, k]), f"'{k}' is required") for k in missing]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra:
            return [Problem(_pointer([*base, k]), "this property is not allowed") for k in extra]
    # The message of an enum or pattern error quotes the value, which may be sensitive text
    # (a note, an address); say what was expected instead.
    return [Problem(_pointer(base), _describe(error))]


def _describe(error: ValidationError) -> str:
    kind = error.validator
    if kind == "type":
        return f"must be of type {error.validator_value}"
    if kind == "enum":
        return "must be one of: " + ", ".join(map(str, error.validator_value))
    if kind == "pattern":
        return f"must match the pattern {error.validator_value}"
    if kind == "format":
        return f"must be a valid {error.validator_value}"
    if kind in {"minLength", "maxLength"}:
        return f"violates {kind} {error.validator_value}"
    return f"fails the '{kind}' rule of the contract"


@lru_cache(maxsize=1)
def _certainly_valid() -> conforms.Check:
    """The contract as plain checks (``conforms``), with the validator's own format checker
    and pattern semantics."""
    _validator()  # the schema is checked there first

    def pattern(source: str) -> conforms.Check:
        compiled = _compiled(source)
        return lambda instance: compiled.search(instance) is not None

    return conforms.compile_schema(contract_schema(), pattern=pattern, format_ok=_FORMATS.conforms)


def contract_problems(candidate: Any) -> list[Problem]:
    """Every way ``candidate`` breaks the contract, as jsonschema reports it."""
    return [p for e in _validator().iter_errors(candidate) for p in _problems_of(e)]


def validate_event(candidate: Any) -> dict[str, Any]:
    """Return the event if it matches the contract exactly, else raise with every problem."""
    # The fast yes settles the common case; anything else is validated in full.
    problems = [] if _certainly_valid()(candidate) else contract_problems(candidate)
    if isinstance(candidate, dict):
        reported = {p.pointer for p in problems}
        problems += [p for p in _timestamp_problems(candidate) if p.pointer not in reported]
    if problems:
        raise InvalidEvent(sorted(set(problems), key=lambda p: (p.pointer, p.message)))
    event: dict[str, Any] = candidate
    return event


_TIMESTAMPS = (("occurred_at",), ("case", "hearing_at"), ("case", "scheduled_removal_at"))


def _timestamp_problems(event: dict[str, Any]) -> list[Problem]:
    """RFC 3339 admits a few forms (leap seconds) that cannot be stored; say so plainly."""
    problems = []
    for path in _TIMESTAMPS:
        value: Any = event
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            try:
                parse_datetime(value)
            except ValueError:
                problems.append(Problem(_pointer(list(path)), "must be a storable date-time"))
    return problems
