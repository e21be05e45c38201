"""``voice policy check|table|explain``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.factories import booking
from voice import cli
from voice.disclosure.policy import default_policy_path


def test_check_passes_on_the_shipped_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["policy", "check"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["failed_examples"] == 0
    assert summary["evaluation_errors"] == 0
    assert summary["cells"] == 8 * 16 * 5 * 28 * 6


def test_check_fails_on_a_failing_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    document["examples"].append(
        {"audience": "partner", "field": "case.release_address", "expect": "release"}
    )
    (tmp_path / "fields.yaml").write_bytes(
        (default_policy_path().parent / "fields.yaml").read_bytes()
    )
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert cli.main(["policy", "check", "--policy", str(path)]) == 1
    assert "case.release_address" in capsys.readouterr().err


def test_check_reports_an_invalid_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("default: release\n", encoding="utf-8")
    assert cli.main(["policy", "check", "--policy", str(path)]) == 1
    assert "policy invalid" in capsys.readouterr().err


def test_table_prints_every_cell(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["policy", "table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 * 16 * 5 * 28 * 6
    cell = json.loads(lines[0])
    assert set(cell) >= {"audience", "field_class", "marking", "decision", "rule_id", "basis"}


def test_explain_gives_pointers_rules_and_bases_never_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(booking()), encoding="utf-8")
    assert cli.main(["policy", "explain", "--audience", "victim_verified", str(path)]) == 0
    out = capsys.readouterr().out
    body = json.loads(out)
    assert body["disclosed"]["subject"]["last_name"] == "Example"
    withheld = {w["pointer"]: w for w in body["withheld"]}
    assert withheld["/case/officer_name"]["rule_id"] == "harm.officer"
    assert withheld["/notes"]["basis"].startswith("FOIA")
    assert withheld["/subject/a_number"]["rule_id"] == "harm.identifiers"
    for value in ("Officer J. Sample", "A200100101", "1988-04-12", "county jail"):
        assert value not in out


def test_explain_a_protected_subject_shows_the_neutral_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = booking()
    event["subject"]["flags"] = {"minor": True}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    assert cli.main(["policy", "explain", "--audience", "partner", str(path)]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["disclosed"] == {}
    assert body["message"].startswith("Information about this case is not available")
    assert {w["rule_id"] for w in body["withheld"]} == {"harm.minor"}


def test_explain_rejects_unreadable_events(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text("{not json", encoding="utf-8")
    assert cli.main(["policy", "explain", str(path)]) == 2
    path.write_text("[1, 2]", encoding="utf-8")
    assert cli.main(["policy", "explain", str(path)]) == 2
