"""Loading and validating the disclosure policy."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from voice.disclosure.audiences import Audience
from voice.disclosure.policy import (
    Policy,
    PolicyError,
    cached_policy,
    default_policy_path,
    load_policy,
    parse_policy,
)

MINIMAL = b"""\
version: "t-1"
default: withhold
audiences:
  victim_verified:
    release: [case.custody_status]
conditions:
  case.facility_name: {custody_status: [in_custody]}
never_disclosed_event_types: [removal.scheduled]
"""


def test_shipped_policy_loads_with_version_and_file_sha256() -> None:
    path = default_policy_path()
    assert path.name == "disclosure.yaml"
    raw = path.read_bytes()
    policy = load_policy(path)

    document = yaml.safe_load(raw)
    assert policy.version == document["version"]
    assert policy.version
    assert policy.sha256 == hashlib.sha256(raw).hexdigest()
    assert len(policy.sha256) == 64


def test_shipped_policy_contents(policy: Policy) -> None:
    assert policy == load_policy(default_policy_path())
    assert "removal.scheduled" in policy.never_disclosed_event_types
    verified = policy.releasable[Audience.VICTIM_VERIFIED]
    pending = policy.releasable[Audience.VICTIM_PENDING]
    assert pending - {"subject.country_of_birth"} <= verified
    for never in (
        "case.release_address",
        "case.transport_details",
        "case.officer_name",
        "case.informant_reference",
        "case.scheduled_removal_at",
        "case.removal_port",
        "case.related_persons",
        "subject.a_number",
        "subject.date_of_birth",
        "event.notes",
    ):
        assert never not in verified
        assert never not in pending
    assert policy.custody_conditions["case.facility_name"] == frozenset({"in_custody"})
    assert policy.custody_conditions["case.removed_to_country"] == frozenset({"removed"})
    assert Audience.PARTNER not in policy.releasable


def test_cached_policy_is_the_loaded_policy() -> None:
    path = default_policy_path()
    assert cached_policy(path) is cached_policy(path)
    assert cached_policy(path) == load_policy(path)


def test_minimal_policy_parses() -> None:
    policy = parse_policy(MINIMAL)
    assert policy.version == "t-1"
    assert policy.sha256 == hashlib.sha256(MINIMAL).hexdigest()
    assert dict(policy.releasable) == {Audience.VICTIM_VERIFIED: frozenset({"case.custody_status"})}
    assert dict(policy.custody_conditions) == {"case.facility_name": frozenset({"in_custody"})}
    assert policy.never_disclosed_event_types == frozenset({"removal.scheduled"})


def test_sha256_changes_with_any_byte() -> None:
    assert parse_policy(MINIMAL).sha256 != parse_policy(MINIMAL + b"# a comment\n").sha256


def test_policy_is_immutable() -> None:
    policy = parse_policy(MINIMAL)
    with pytest.raises(TypeError):
        policy.releasable[Audience.PARTNER] = frozenset({"case.custody_status"})  # type: ignore[index]


def test_load_policy_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(tmp_path / "absent.yaml")


def test_load_policy_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(MINIMAL)
    assert load_policy(path) == parse_policy(MINIMAL)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        pytest.param(b"version: [unclosed\ndefault: withhold\n", "not valid YAML", id="not-yaml"),
        pytest.param(b"\xff\xfe\x00garbage: [", "not valid YAML", id="not-utf8"),
        pytest.param(b"- version\n- default\n", "mapping", id="list"),
        pytest.param(b"just a string\n", "mapping", id="scalar"),
        pytest.param(b"", "mapping", id="empty"),
    ],
)
def test_rejects_documents_that_are_not_a_yaml_mapping(raw: bytes, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        parse_policy(raw)


def _without(line_start: bytes) -> bytes:
    return b"".join(
        line for line in MINIMAL.splitlines(keepends=True) if not line.startswith(line_start)
    )


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(_without(b"default:"), id="missing"),
        pytest.param(MINIMAL.replace(b"default: withhold", b"default: release"), id="release"),
        pytest.param(MINIMAL.replace(b"default: withhold", b"default: Withhold"), id="case"),
        pytest.param(MINIMAL.replace(b"default: withhold", b"default: [withhold]"), id="list"),
    ],
)
def test_rejects_a_default_other_than_withhold(raw: bytes) -> None:
    with pytest.raises(PolicyError, match="default"):
        parse_policy(raw)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(_without(b"version:"), id="missing"),
        pytest.param(MINIMAL.replace(b'version: "t-1"', b'version: ""'), id="empty"),
        pytest.param(MINIMAL.replace(b'version: "t-1"', b"version: 3"), id="number"),
        pytest.param(MINIMAL.replace(b'version: "t-1"', b"version:"), id="null"),
    ],
)
def test_rejects_a_missing_version(raw: bytes) -> None:
    with pytest.raises(PolicyError, match="version"):
        parse_policy(raw)


def test_rejects_an_unknown_audience() -> None:
    raw = MINIMAL.replace(b"  victim_verified:", b"  burglars:")
    with pytest.raises(PolicyError, match="unknown audience 'burglars'"):
        parse_policy(raw)


@pytest.mark.parametrize(
    "release",
    [
        pytest.param(b"case.custody_status", id="string"),
        pytest.param(b"{case.custody_status: yes}", id="mapping"),
        pytest.param(b"[case.custody_status, 3]", id="number-item"),
        pytest.param(b"[case.custody_status, [case.facility_name]]", id="nested-list"),
        pytest.param(b"[null]", id="null-item"),
    ],
)
def test_rejects_a_release_that_is_not_a_list_of_strings(release: bytes) -> None:
    raw = MINIMAL.replace(b"release: [case.custody_status]", b"release: " + release)
    with pytest.raises(PolicyError, match="release must be a list"):
        parse_policy(raw)


@pytest.mark.parametrize(
    "audiences",
    [
        pytest.param(b"audiences: [victim_verified]\n", id="audiences-list"),
        pytest.param(b"audiences:\n  victim_verified: [case.custody_status]\n", id="spec-list"),
    ],
)
def test_rejects_malformed_audience_sections(audiences: bytes) -> None:
    raw = b'version: "t-1"\ndefault: withhold\n' + audiences + b"never_disclosed_event_types: []\n"
    with pytest.raises(PolicyError):
        parse_policy(raw)


@pytest.mark.parametrize(
    "condition",
    [
        pytest.param(b"{custody_status: []}", id="empty-list"),
        pytest.param(b"{custody_status: in_custody}", id="not-a-list"),
        pytest.param(b"{proceedings_stage: [closed]}", id="no-custody-status"),
        pytest.param(b"{}", id="empty-mapping"),
        pytest.param(b"[in_custody]", id="not-a-mapping"),
        pytest.param(b"custody_status == 'in_custody'", id="bare-expression"),
    ],
)
def test_rejects_a_bad_condition(condition: bytes) -> None:
    raw = MINIMAL.replace(b"{custody_status: [in_custody]}", condition)
    with pytest.raises(PolicyError):
        parse_policy(raw)


def test_rejects_conditions_that_are_not_a_mapping() -> None:
    raw = _without(b"conditions:").replace(
        b"  case.facility_name: {custody_status: [in_custody]}\n",
        b"conditions: [case.facility_name]\n",
    )
    with pytest.raises(PolicyError, match="conditions must be a mapping"):
        parse_policy(raw)


def test_rejects_never_disclosed_event_types_that_are_not_a_list() -> None:
    raw = MINIMAL.replace(
        b"never_disclosed_event_types: [removal.scheduled]",
        b"never_disclosed_event_types: removal.scheduled",
    )
    with pytest.raises(PolicyError, match="never_disclosed_event_types"):
        parse_policy(raw)


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)
