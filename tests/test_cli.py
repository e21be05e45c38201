"""``voice ingest`` and ``voice db``, run in-process against both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from tests import factories
from voice import cli
from voice.cases.models import CaseEvent
from voice.ingest.validation import CONTRACT_PATH


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(CaseEvent)).one()


@pytest.mark.usefixtures("voice_env")
def test_ingest_file_applies_good_lines_and_reports_bad_ones(
    committed_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = (CONTRACT_PATH.parent / "example-events.ndjson").read_text(encoding="utf-8")
    bad = factories.event("custody.released")
    bad["occurred_at"] = "not a time"
    path = tmp_path / "events.ndjson"
    path.write_text(examples + "{broken\n" + json.dumps(bad) + "\n", encoding="utf-8")

    assert cli.main(["ingest", str(path)]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["status"] for line in lines] == ["accepted"] * 3 + ["rejected"] * 2
    assert lines[3]["line"] == 4
    assert lines[4]["errors"] == [
        {"pointer": "/occurred_at", "detail": "must be a valid date-time"}
    ]
    assert _count(committed_engine) == 3

    # A second run replays: nothing new, every good line answered with its original receipt.
    examples_only = tmp_path / "ok.ndjson"
    examples_only.write_text(examples, encoding="utf-8")
    assert cli.main(["ingest", str(examples_only)]) == 0
    replay = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["status"] for line in replay] == ["duplicate"] * 3
    assert [r["receipt"]["receipt_id"] for r in replay] == [
        r["receipt"]["receipt_id"] for r in lines[:3]
    ]
    assert _count(committed_engine) == 3


@pytest.mark.usefixtures("voice_env")
def test_db_current_reports_head(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["db", "current"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["current"] == state["head"]
    assert cli.main(["db", "check"]) == 0


@pytest.mark.usefixtures("voice_env")
def test_demo_loads_once_and_is_idempotent(
    committed_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo"]) == 0
    first = _count(committed_engine)
    assert first >= 100
    assert cli.main(["demo"]) == 0
    assert _count(committed_engine) == first
    assert "0 new events" in capsys.readouterr().out


def test_ingest_shows_progress_with_a_rate_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with cli.ingest_progress(total=3, force=True) as advance:
        advance(2)
        advance(1)
    shown = capsys.readouterr().err
    assert "3/3" in shown
    assert "events/s" in shown
    with cli.ingest_progress(total=3) as advance:  # not a terminal: nothing but the JSON lines
        advance(3)
    assert capsys.readouterr().err == ""
