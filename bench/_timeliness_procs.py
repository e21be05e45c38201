"""Child processes of ``timeliness.py``: the local providers and the service under test."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
TWILIO_SID = "AC00000000000000000000000000000042"
TWILIO_TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Provider:
    """One local provider (``_notify_servers.py``) recording when it first accepted each key."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.port = free_port()
        self.times = tmp / f"{kind}-times.json"
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "_notify_servers.py"),
                kind,
                str(self.port),
                str(self.times),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the {kind} server did not start")

    def stop(self) -> dict[str, float]:
        """Key -> wall-clock time of its first acceptance."""
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=30)
        times: dict[str, float] = json.loads(self.times.read_text(encoding="utf-8"))
        return times


def _spawn(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "voice.cli", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_voice(
    database: str, env: dict[str, str], cwd: Path
) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """SQLite: one ``voice serve`` with its in-process worker. PostgreSQL: the API without a
    worker, and two ``voice worker`` processes. Returns the base URL once /healthz answers."""
    port = free_port()
    serve = ["serve", "--port", str(port), "--workers", "1"]
    if database == "sqlite":
        processes = [_spawn(serve, env, cwd)]
    else:
        processes = [_spawn([*serve, "--no-worker"], env, cwd)]
        processes += [_spawn(["worker"], env, cwd) for _ in range(2)]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            stop(processes)
            raise RuntimeError("a voice process exited while starting")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return base, processes
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop(processes)
    raise RuntimeError("voice serve did not answer /healthz")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        process.wait(timeout=60)
