"""The README's first command: ``voice serve --demo`` on the embedded default (SQLite, the
in-process worker, the file adapter) answers, serves demo data and writes notification files."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import REPO, messages_in, wait_for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.e2e
def test_serve_demo_on_the_embedded_default(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "voice.cli", "serve", "--demo", "--port", str(port)],
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
            what="the demo server",
        )
        assert server.poll() is None, "the server exited early"
        assert httpx.get(f"{base}/readyz").status_code == 200
        assert httpx.get(f"{base}/api/v1/contract/event.schema.json").status_code == 200
        signed_in = httpx.post(
            f"{base}/api/v1/self-service/sign-in",
            json={"victim_id": "V-0000-0001", "pin": "20260001"},
        )
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        cases = httpx.get(
            f"{base}/api/v1/self-service/cases", headers={"Authorization": f"Bearer {token}"}
        )
        assert cases.status_code == 200
        assert cases.json()["count"] >= 1
        # The development sign-in stands in for the identity provider, clearly marked.
        with httpx.Client(base_url=base, follow_redirects=True) as browser:
            page = browser.get("/portal/cases")
            assert "DEVELOPMENT SIGN-IN" in page.text
            assert page.headers["x-frame-options"] == "DENY"
        # A machine-client token from `voice dev-token` is accepted by the ingest API.
        minted = subprocess.run(
            [sys.executable, "-m", "voice.cli", "dev-token", "events:write"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        refused = httpx.post(f"{base}/api/v1/events", json=[])
        assert refused.status_code == 401
        accepted = httpx.post(
            f"{base}/api/v1/events",
            json=[],
            headers={"Authorization": f"Bearer {minted.stdout.strip()}"},
        )
        assert accepted.status_code == 200, accepted.text
        assert (tmp_path / "voice.db").exists()  # the embedded default, in the working folder
        wait_for(
            lambda: len(messages_in(tmp_path / "var" / "outbox")) > 0,
            what="the in-process worker to write demo notifications",
        )
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    # Where staff and victims start, and the demo victims' sign-ins, are printed.
    assert f"Staff portal:          http://127.0.0.1:{port}/portal\n" in output
    assert f"Victims' self-service: http://127.0.0.1:{port}/self-service\n" in output
    assert "V-0000-0001" in output
    assert "20260001" in output
