"""``voice serve --workers 2``: several API processes on one port, and /metrics adds up the
counters of every process (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.helpers import REPO, wait_for
from tests.e2e.test_serve_demo import _answers, _free_port
from voice import migrate


@pytest.mark.e2e
def test_several_processes_serve_and_their_metrics_add_up(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"sqlite:///{tmp_path / 'voice.db'}"
    migrate.upgrade(url)
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path),
        "VOICE_ENVIRONMENT": "development",
        "VOICE_DATABASE_URL": url,
        "VOICE_METRICS_TOKEN": "scrape-me",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    command = ["serve", "--port", str(port), "--no-worker", "--workers", "2"]
    server = subprocess.Popen(
        [sys.executable, "-m", "voice.cli", *command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(
            lambda: _answers(f"{base}/healthz") or server.poll() is not None,
            timeout=600,
            what="the API processes",
        )
        assert server.poll() is None, "the server exited early"
        with httpx.Client(base_url=base) as client:
            for _ in range(20):
                assert client.get("/healthz").status_code == 200
            scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert scraped.status_code == 200
        total = 0.0
        for family in text_string_to_metric_families(scraped.text):
            for sample in family.samples:
                if (
                    sample.name == "voice_http_requests_total"
                    and sample.labels["route"] == "/healthz"
                ):
                    total += sample.value
        assert total >= 20  # every process's count, summed from the multiprocess files
        assert len(list((tmp_path / "metrics").glob("*.db"))) >= 2
    finally:
        server.terminate()
        server.wait(timeout=60)
