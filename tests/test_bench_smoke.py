"""Every benchmark still runs, and its last line keeps the project's result contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import POSTGRES_ADMIN_URL, require_postgres

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p.name for p in (REPO / "bench").glob("*.py") if not p.name.startswith("_"))
KEYS = {"name", "value", "unit", "baseline", "ratio", "target"}


def test_every_bench_is_covered() -> None:
    assert {
        "ingest_throughput.py",
        "worker_throughput.py",
        "notify_fanout.py",
        "timeliness.py",
    } <= set(SCRIPTS)


@pytest.mark.e2e
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_quick_run_prints_the_result_line(script: str, database: str) -> None:
    if database == "postgresql":
        require_postgres()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "VOICE_BENCH_POSTGRES_URL": POSTGRES_ADMIN_URL,
    }
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), "--quick", "--database", database],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(last) == KEYS
    assert last["value"] > 0
    assert last["baseline"] > 0
    assert last["ratio"] == pytest.approx(last["value"] / last["baseline"], rel=0.01)
