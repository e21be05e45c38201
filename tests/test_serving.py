"""``voice serve``: links name the address actually served, and production needs one set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from tests.test_config import IDENTITY, STRONG
from voice import cli
from voice.config import get_settings
from voice.notify.callbacks.acknowledgements import ack_url
from voice.selfservice.links import link_url


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Runs ``voice serve`` up to the point where uvicorn would take over, and keeps the app."""
    captured: dict[str, Any] = {}

    def run(app: FastAPI, **options: Any) -> None:
        captured.update(app=app, **options)

    monkeypatch.setattr(uvicorn, "run", run)
    for name in list(os.environ):
        if name.startswith("VOICE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VOICE_DATABASE_URL", f"sqlite:///{tmp_path / 'voice.db'}")
    monkeypatch.setenv("VOICE_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    yield captured
    get_settings.cache_clear()


def test_development_links_follow_the_served_port(served: dict[str, Any]) -> None:
    assert cli.main(["serve", "--no-worker", "--port", "8765"]) == 0
    settings = served["app"].state.settings
    assert served["port"] == 8765
    assert link_url(settings, "t").startswith("http://127.0.0.1:8765/self-service/")
    ack = ack_url(settings=settings, event_id=1, link_id=1)
    assert ack.startswith("http://127.0.0.1:8765/ack/")


def test_a_wildcard_host_links_to_loopback_and_a_configured_url_wins(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["serve", "--no-worker", "--host", "0.0.0.0", "--port", "9001"]) == 0
    assert served["app"].state.settings.public_base_url == "http://127.0.0.1:9001"
    monkeypatch.setenv("VOICE_PUBLIC_BASE_URL", "https://voice.example.gov")
    get_settings.cache_clear()
    assert cli.main(["serve", "--no-worker", "--port", "9002"]) == 0
    assert served["app"].state.settings.public_base_url == "https://voice.example.gov"


def test_production_refuses_to_start_without_a_public_url(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VOICE_ENVIRONMENT", "production")
    monkeypatch.setenv("VOICE_SECRET_KEY", STRONG)
    for name, value in IDENTITY.items():
        if name != "public_base_url":
            raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
            monkeypatch.setenv(f"VOICE_{name.upper()}", str(raw))
    assert cli.main(["serve", "--no-worker"]) == 2
    assert "VOICE_PUBLIC_BASE_URL must be set outside development" in capsys.readouterr().err
    assert "app" not in served
