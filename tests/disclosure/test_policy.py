"""Loading, validating and compiling the policy and its field catalogue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from celpy import celtypes
from celpy.evaluation import CELEvalError
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel

import voice.models  # noqa: F401  (every table)
from voice.disclosure.audiences import Audience
from voice.disclosure.compiler import RuleCompiler, split_conjuncts
from voice.disclosure.policy import (
    Policy,
    PolicyError,
    cached_policy,
    default_policy_path,
    load_policy,
    parse_policy,
    policies_dir,
)
from voice.ingest.validation import CONTRACT_PATH

CATALOGUE = yaml.safe_dump(
    {
        "version": "t",
        "classes": {"name": "names", "secret_stuff": "stuff"},
        "fields": {
            "subject.last_name": {"class": "name", "default_marking": "(U)"},
            "case.stuff": {"class": "secret_stuff", "default_marking": "(U//LES)"},
        },
    }
).encode()


def document(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": "t-1",
        "catalogue": "fields.yaml",
        "default": "withhold",
        "on_error": "withhold",
        "neutral_message": "Not now.",
        "audiences": {a.value: "x" for a in Audience},
        "groups": {"outward": ["victim_verified", "partner"]},
        "rules": [
            {
                "id": "release.names",
                "when": 'audience in outward && field_class == "name" && marking == "uncontrolled"',
                "decision": "release",
                "basis": "purpose",
            }
        ],
        "examples": [
            {"audience": "victim_verified", "field": "subject.last_name", "expect": "release"}
        ],
    }
    base.update(overrides)
    return base


def parse(doc: dict[str, Any]) -> Policy:
    return parse_policy(yaml.safe_dump(doc).encode(), catalogue_raw=CATALOGUE)


def test_shipped_policy_loads_checks_and_hashes_both_files() -> None:
    policy = load_policy(default_policy_path())
    raw = default_policy_path().read_bytes()
    catalogue = (policies_dir() / "fields.yaml").read_bytes()
    import hashlib

    assert policy.sha256 == hashlib.sha256(raw + b"\n" + catalogue).hexdigest()
    assert policy.failed_examples() == []
    assert policy.table.errors == ()
    assert len(policy.examples) >= 30
    assert cached_policy(default_policy_path()) is cached_policy(default_policy_path())


def test_minimal_policy_compiles_and_runs_its_examples() -> None:
    policy = parse(document())
    assert policy.failed_examples() == []
    assert policy.neutral_message == "Not now."


def test_a_failing_example_is_reported() -> None:
    doc = document(examples=[{"audience": "partner", "field": "case.stuff", "expect": "release"}])
    failures = parse(doc).failed_examples()
    assert len(failures) == 1
    assert "got withhold by default" in failures[0]


def test_an_example_naming_the_wrong_rule_fails() -> None:
    doc = document(
        examples=[
            {"audience": "partner", "field": "subject.last_name", "expect": "release", "rule": "x"}
        ]
    )
    assert parse(doc).failed_examples()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"default": "release"}, "default must be 'withhold'"),
        ({"on_error": "release"}, "on_error must be 'withhold'"),
        ({"version": ""}, "version"),
        ({"audiences": {"victim_verified": "x"}}, "audiences missing"),
        ({"audiences": {**{a.value: "x" for a in Audience}, "public": "x"}}, "unknown audience"),
        ({"groups": {"outward": ["nobody"]}}, "group outward"),
        ({"rules": []}, "rules must be"),
        ({"rules": [{"id": "x", "when": "true", "decision": "release"}]}, "needs exactly"),
        ({"rules": [{"id": "x", "when": "true", "decision": "maybe", "basis": "b"}]}, "decision"),
        (
            {"rules": [{"id": "default", "when": "true", "decision": "release", "basis": "b"}]},
            "reserved",
        ),
        (
            {"rules": [{"id": "x", "when": "audience ==", "decision": "release", "basis": "b"}]},
            "not valid CEL",
        ),
        (
            {"rules": [{"id": "x", "when": "colour == 1", "decision": "release", "basis": "b"}]},
            "unknown name",
        ),
        (
            {
                "rules": [
                    {
                        "id": "x",
                        "when": 'field_class == "nmae"',
                        "decision": "release",
                        "basis": "b",
                    }
                ]
            },
            "can never match",
        ),
        ({"examples": [{"audience": "nobody", "field": "x", "expect": "release"}]}, "example 1"),
        (
            {"examples": [{"audience": "partner", "field": "x", "expect": "release", "colour": 1}]},
            "example 1",
        ),
        ({"neutral_message": ""}, "neutral_message"),
    ],
)
def test_invalid_policies_are_rejected(change: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse(document(**change))


@pytest.mark.parametrize("raw", [b"- a list", b"{", b"just text"])
def test_documents_that_are_not_a_yaml_mapping_are_rejected(raw: bytes) -> None:
    with pytest.raises(PolicyError):
        parse_policy(raw, catalogue_raw=CATALOGUE)


@pytest.mark.parametrize(
    "catalogue",
    [
        {
            "version": "t",
            "classes": {"a": "x"},
            "fields": {"bad name": {"class": "a", "default_marking": "U"}},
        },
        {
            "version": "t",
            "classes": {"a": "x"},
            "fields": {"case.x": {"class": "b", "default_marking": "U"}},
        },
        {
            "version": "t",
            "classes": {"a": "x"},
            "fields": {"case.x": {"class": "a", "default_marking": "ZZZ"}},
        },
        {
            "version": "t",
            "classes": {"unknown": "x"},
            "fields": {"case.x": {"class": "unknown", "default_marking": "U"}},
        },
        {"version": "t", "classes": {}, "fields": {}},
    ],
)
def test_invalid_catalogues_are_rejected(catalogue: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        parse_policy(
            yaml.safe_dump(document()).encode(), catalogue_raw=yaml.safe_dump(catalogue).encode()
        )


def test_a_condition_that_fails_to_evaluate_withholds_and_is_reported() -> None:
    rules = [
        {
            "id": "bad",
            "when": 'audience == "partner" && 1 / 0 == 1',
            "decision": "release",
            "basis": "b",
        },
        {"id": "names", "when": 'field_class == "name"', "decision": "release", "basis": "b"},
    ]
    policy = parse(document(rules=rules, examples=[]))
    assert policy.table.errors
    assert {error[0] for error in policy.table.errors} == {"bad"}
    from voice.disclosure.markings import MarkingClass

    decision = policy.table.decide(
        audience="partner", key=0, field_class="name", marking=MarkingClass.UNCONTROLLED
    )
    assert not decision.release
    assert decision.rule_id == "bad"
    assert decision.basis.startswith("on_error")
    # false && error is false in CEL, so other audiences go on to the next rule.
    other = policy.table.decide(
        audience="victim_verified", key=0, field_class="name", marking=MarkingClass.UNCONTROLLED
    )
    assert other.release


def test_load_policy_reads_the_catalogue_beside_it(tmp_path: Path) -> None:
    (tmp_path / "fields.yaml").write_bytes(CATALOGUE)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(document()), encoding="utf-8")
    assert load_policy(tmp_path / "p.yaml").catalogue.fields.keys() == {
        "subject.last_name",
        "case.stuff",
    }
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")


# --- the catalogue covers the contract and the models -------------------------------------------


def _contract_fields() -> set[str]:
    schema = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    names = set()
    for name in schema["properties"]:
        if name not in ("subject", "case"):
            names.add(f"event.{name}")
    for area in ("subject", "case"):
        names |= {f"{area}.{name}" for name in schema["properties"][area]["properties"]}
    return names


def test_every_contract_field_is_catalogued(policy: Policy) -> None:
    assert _contract_fields() <= set(policy.catalogue.fields)


def test_every_model_field_is_catalogued(policy: Policy) -> None:
    areas = {
        "subject": "subject",
        "offender_case": "case",
        "case_event": "event",
        "victim": "victim",
        "victim_case_link": "link",
    }
    for table, area in areas.items():
        for column in SQLModel.metadata.tables[table].columns:
            assert f"{area}.{column.name}" in policy.catalogue.fields, (table, column.name)


# --- splitting conjunctions gives what evaluating the whole would ---------------------------------

ATOMS = [
    'audience == "partner"',
    "audience in outward",
    'field_class == "name"',
    'marking in ["cui", "unknown"]',
    "minor",
    "!safety_hold",
    'custody != "removed"',
    "1 / 0 == 1",
    "(minor || protected_1367)",
    "size(outward) > 1",
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(ATOMS), min_size=1, max_size=4))
def test_split_conjuncts_agree_with_whole_evaluation(atoms: list[str]) -> None:
    source = " && ".join(atoms)
    assert split_conjuncts(source) == [a.strip() for a in atoms] or "||" in source
    compiler = RuleCompiler(
        audiences=[a.value for a in Audience],
        field_classes=["name"],
        groups={"outward": frozenset({"victim_verified", "partner"})},
    )
    from voice.disclosure.compiler import DEFAULT_DECISION

    rule = compiler.compile("r", source, DEFAULT_DECISION)
    whole = compiler.env.program(compiler.env.compile(source))
    for audience in ("partner", "liaison"):
        for minor in (False, True):
            cell = {
                "audience": audience,
                "field_class": "name",
                "marking": "cui",
                "minor": minor,
                "protected_1367": False,
                "safety_hold": False,
                "removal_scheduled": False,
                "custody": "other",
            }
            activation = {**compiler.constants}
            activation.update(
                {
                    k: celtypes.BoolType(v) if isinstance(v, bool) else celtypes.StringType(v)
                    for k, v in cell.items()
                }
            )
            try:
                result = whole.evaluate(activation)
                expected: bool | None = (
                    bool(result) if isinstance(result, celtypes.BoolType) else None
                )
            except CELEvalError:
                expected = None
            assert rule.answer(cell) == expected, (source, cell)


def test_split_keeps_or_and_ternaries_and_strings_whole() -> None:
    assert split_conjuncts("a && b || c") == ["a && b || c"]
    assert split_conjuncts("a ? b : c && d") == ["a ? b : c && d"]
    assert split_conjuncts('x == "&&" && (y && z)') == ['x == "&&"', "(y && z)"]
