"""One trace from ingest to the adapter, across the ingest and worker processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests import factories
from tests.e2e.helpers import REPO, child_env
from voice.database import transaction
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event


def _traced(spans: Path, args: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, str(REPO / "tests/e2e/traced_voice.py"), str(spans), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded: list[dict[str, Any]] = json.loads(spans.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.e2e
def test_an_events_trace_runs_from_ingest_through_the_worker_to_the_adapter(
    committed_engine: Engine, database_url: str, policy: Policy, tmp_path: Path
) -> None:
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=factories.booking(), policy=policy)
        factories.victim_with_link(session, factories.case_of(session))
    events = tmp_path / "events.ndjson"
    events.write_text(json.dumps(factories.event("custody.transferred")) + "\n", encoding="utf-8")
    env = child_env(database_url, tmp_path / "outbox")

    ingested = _traced(tmp_path / "ingest.json", ["ingest", str(events)], env)
    worked = _traced(tmp_path / "worker.json", ["worker", "--once"], env)

    [root] = [s for s in ingested if s["name"] == "ingest.event"]
    event_id = root["attributes"]["voice.event_id"]
    sends = [s for s in worked if s["name"] == "outbox.send"]
    assert sends, [s["name"] for s in worked]
    mine = [s for s in sends if s["attributes"].get("voice.event_id") == event_id]
    assert mine  # the worker's send of this event's notice...
    for send in mine:
        assert send["trace_id"] == root["trace_id"]  # ...continues the ingest's trace
        adapters = [s for s in worked if s["parent_id"] == send["span_id"]]
        assert [a["name"] for a in adapters] == ["adapter.email"]
        assert adapters[0]["trace_id"] == root["trace_id"]
    text = json.dumps(ingested + worked)
    assert "@" not in text  # span attributes carry ids only
