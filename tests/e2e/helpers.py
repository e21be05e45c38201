"""Running the real ``voice`` command in a child process, and waiting on the database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def child_env(database_url: str, outbox: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_")}
    env.update(
        VOICE_ENVIRONMENT="test",
        VOICE_DATABASE_URL=database_url,
        VOICE_OUTBOX_DIR=str(outbox),
        # Beside the outbox, never in the working tree: the worker writes checkpoints there.
        VOICE_AUDIT_CHECKPOINT_DIR=str(outbox.parent / "checkpoints"),
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def run_voice(args: list[str], env: dict[str, str], timeout: float = 600) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "voice.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def wait_for(condition: Callable[[], bool], timeout: float = 600, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def messages_in(outbox: Path) -> list[Path]:
    """Finished messages only: temporary files of an interrupted write do not count."""
    if not outbox.exists():
        return []
    return sorted(p for p in outbox.rglob("*") if p.is_file() and not p.name.startswith(".tmp-"))
