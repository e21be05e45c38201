"""Loading the disclosure policy from ``policies/``: validate, compile, and check its examples.

The policy (``disclosure.yaml``) and the field catalogue it names (``fields.yaml``) are read
once; the rules' CEL conditions are compiled into a decision table and laid out per field
(see compiler.py and plans.py). The policy's version and sha256 (over both files) go into every
disclosure record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from voice.disclosure.audiences import Audience
from voice.disclosure.catalogue import Catalogue, CatalogueError, parse_catalogue
from voice.disclosure.compiler import (
    BOOLEAN_FLAGS,
    CUSTODY_STATES,
    CompiledRule,
    CompileError,
    Decision,
    DecisionTable,
    RuleCompiler,
    build_table,
    flag_key,
)
from voice.disclosure.markings import MarkingClass, classify
from voice.disclosure.plans import Plans, build_plans

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_RULE_KEYS = {"id", "when", "decision", "basis"}
_EXAMPLE_KEYS = {"audience", "field", "marking", "custody", "expect", "rule", *BOOLEAN_FLAGS}


class PolicyError(ValueError):
    """The policy file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Example:
    audience: str
    field: str
    marking: str | None
    flags: Mapping[str, bool]
    custody: str
    expect: str  # "release" or "withhold"
    rule: str | None


@dataclass(frozen=True)
class Policy:
    version: str
    sha256: str
    catalogue: Catalogue
    groups: Mapping[str, frozenset[str]]
    rules: tuple[CompiledRule, ...]
    table: DecisionTable
    plans: Plans
    examples: tuple[Example, ...]
    neutral_message: str

    def decide_example(self, example: Example) -> Decision:
        spec = self.catalogue.fields.get(example.field)
        if example.marking is not None:
            marking = classify(example.marking)
        else:
            marking = spec.default_class if spec else MarkingClass.UNKNOWN
        key = flag_key(
            minor=example.flags.get("minor", False),
            protected_1367=example.flags.get("protected_1367", False),
            safety_hold=example.flags.get("safety_hold", False),
            removal_scheduled=example.flags.get("removal_scheduled", False),
            custody=CUSTODY_STATES.index(example.custody),
        )
        return self.table.decide(
            audience=example.audience,
            key=key,
            field_class=spec.field_class if spec else "unknown",
            marking=marking,
        )

    def failed_examples(self) -> list[str]:
        """Every example whose decision differs from what it expects, described."""
        failures = []
        for number, example in enumerate(self.examples, start=1):
            decision = self.decide_example(example)
            got = "release" if decision.release else "withhold"
            if got != example.expect or (example.rule and example.rule != decision.rule_id):
                failures.append(
                    f"example {number} ({example.audience}, {example.field}): expected "
                    f"{example.expect} by {example.rule or 'any rule'}, "
                    f"got {got} by {decision.rule_id}"
                )
        return failures


def policies_dir() -> Path:
    for candidate in (_PACKAGE_DIR.parent / "policies", _PACKAGE_DIR / "_bundled" / "policies"):
        if candidate.is_dir():
            return candidate
    raise PolicyError("the policies folder is missing from this installation")


def default_policy_path() -> Path:
    return policies_dir() / "disclosure.yaml"


def _mapping(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key)
    if not isinstance(value, dict) or not value:
        raise PolicyError(f"{key} must be a non-empty mapping")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(f"{what} must be a non-empty string")
    return value


def _audiences(document: dict[str, Any]) -> tuple[str, ...]:
    declared = _mapping(document, "audiences")
    for name in declared:
        if name not in Audience.__members__.values():
            raise PolicyError(f"unknown audience {name!r}")
    missing = {a.value for a in Audience} - set(declared)
    if missing:
        raise PolicyError(f"audiences missing from the policy: {', '.join(sorted(missing))}")
    return tuple(a.value for a in Audience)


def _groups(document: dict[str, Any], audiences: tuple[str, ...]) -> dict[str, frozenset[str]]:
    groups: dict[str, frozenset[str]] = {}
    for name, members in _mapping(document, "groups").items():
        if not isinstance(members, list) or not all(m in audiences for m in members):
            raise PolicyError(f"group {name}: must be a list of audiences")
        groups[str(name)] = frozenset(members)
    return groups


def _rules(document: dict[str, Any], compiler: RuleCompiler) -> tuple[CompiledRule, ...]:
    rules_in = document.get("rules")
    if not isinstance(rules_in, list) or not rules_in:
        raise PolicyError("rules must be a non-empty list")
    rules: list[CompiledRule] = []
    for number, rule in enumerate(rules_in, start=1):
        if not isinstance(rule, dict) or set(rule) != _RULE_KEYS:
            raise PolicyError(f"rule {number}: needs exactly {', '.join(sorted(_RULE_KEYS))}")
        rule_id = _text(rule["id"], f"rule {number} id")
        if rule_id == "default" or any(r.id == rule_id for r in rules):
            raise PolicyError(f"rule {number}: id {rule_id!r} is reserved or used twice")
        if rule["decision"] not in ("release", "withhold"):
            raise PolicyError(f"rule {rule_id}: decision must be release or withhold")
        decision = Decision(rule["decision"] == "release", rule_id, _text(rule["basis"], "basis"))
        try:
            rules.append(compiler.compile(rule_id, _text(rule["when"], "when"), decision))
        except CompileError as exc:
            raise PolicyError(str(exc)) from exc
    return tuple(rules)


def _examples(document: dict[str, Any], audiences: tuple[str, ...]) -> tuple[Example, ...]:
    examples_in = document.get("examples", [])
    if not isinstance(examples_in, list):
        raise PolicyError("examples must be a list")
    examples = []
    for number, row in enumerate(examples_in, start=1):
        if not isinstance(row, dict) or not set(row) <= _EXAMPLE_KEYS:
            raise PolicyError(f"example {number}: keys must be among {sorted(_EXAMPLE_KEYS)}")
        flags = {name: row.get(name, False) for name in BOOLEAN_FLAGS}
        if (
            row.get("audience") not in audiences
            or not isinstance(row.get("field"), str)
            or row.get("expect") not in ("release", "withhold")
            or row.get("custody", "other") not in CUSTODY_STATES
            or not all(isinstance(v, bool) for v in flags.values())
        ):
            raise PolicyError(f"example {number}: needs audience, field, expect, and valid flags")
        examples.append(
            Example(
                audience=row["audience"],
                field=row["field"],
                marking=row.get("marking"),
                flags=MappingProxyType(flags),
                custody=row.get("custody", "other"),
                expect=row["expect"],
                rule=row.get("rule"),
            )
        )
    return tuple(examples)


def parse_policy(raw: bytes, *, catalogue_raw: bytes | None = None) -> Policy:
    """Parse, validate and compile a policy; its catalogue is read from ``policies/`` unless
    given."""
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise PolicyError("policy must be a mapping")
    if document.get("default") != "withhold":
        raise PolicyError("policy default must be 'withhold'")
    if document.get("on_error") != "withhold":
        raise PolicyError("policy on_error must be 'withhold'")
    version = _text(document.get("version"), "version")
    if catalogue_raw is None:
        name = _text(document.get("catalogue"), "catalogue")
        try:
            catalogue_raw = (policies_dir() / Path(name).name).read_bytes()
        except OSError as exc:
            raise PolicyError(f"cannot read the field catalogue {name}: {exc}") from exc
    try:
        catalogue = parse_catalogue(catalogue_raw)
    except CatalogueError as exc:
        raise PolicyError(str(exc)) from exc

    audiences = _audiences(document)
    groups = _groups(document, audiences)
    compiler = RuleCompiler(
        audiences=audiences, field_classes=tuple(catalogue.classes), groups=groups
    )
    rules = _rules(document, compiler)
    table = build_table(rules, domains=compiler.domains)
    return Policy(
        version=version,
        sha256=hashlib.sha256(raw + b"\n" + catalogue_raw).hexdigest(),
        catalogue=catalogue,
        groups=MappingProxyType(groups),
        rules=rules,
        table=table,
        plans=build_plans(table, catalogue, audiences),
        examples=_examples(document, audiences),
        neutral_message=_text(document.get("neutral_message"), "neutral_message").strip(),
    )


def load_policy(path: Path) -> Policy:
    try:
        raw = path.read_bytes()
        catalogue_name = yaml.safe_load(raw).get("catalogue") if raw.strip() else None
        catalogue_raw = (
            (path.parent / Path(catalogue_name).name).read_bytes()
            if isinstance(catalogue_name, str)
            else None
        )
    except OSError as exc:
        raise PolicyError(f"cannot read policy {path}: {exc}") from exc
    except (yaml.YAMLError, AttributeError):
        catalogue_raw = None  # parse_policy reports what is wrong with the document
    return parse_policy(raw, catalogue_raw=catalogue_raw)


@lru_cache(maxsize=4)
def cached_policy(path: Path) -> Policy:
    return load_policy(path)
