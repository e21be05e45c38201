"""A live server of its own for the operations pages' browser tests, and what they look at.

Its own server and database, because the mass-event guard here trips after two critical events
in its window: on the shared server that would pause other journeys' notices.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser.conftest import (
    LiveServer,
    _free_port,
    _ready,
    _screenshot_dir,
    sign_in,
)
from tests.e2e.helpers import REPO, wait_for
from voice.auth.machine import mint_development_token
from voice.config import Environment, Settings

# The guard's limits on this server: a third critical event in ten minutes opens a pause.
GUARD_ENV = {"VOICE_GUARD_MAX_CRITICAL_EVENTS": "2", "VOICE_GUARD_MIN_EVENTS": "1000"}


@dataclass(frozen=True)
class OpsWorld:
    server: LiveServer
    message_id: int
    pause_id: int
    endpoint_id: int


@pytest.fixture(scope="session")
def ops_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("ops-server")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_")}
    env.update(
        VOICE_ENVIRONMENT="development",
        VOICE_DATABASE_URL=f"sqlite:///{home / 'voice.db'}",
        VOICE_OUTBOX_DIR=str(home / "outbox"),
        PYTHONPATH=str(REPO),
        **GUARD_ENV,
    )
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "voice.cli", "serve", "--demo", "--port", str(port)],
        cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(
            lambda: _ready(f"{base}/readyz") or server.poll() is not None,
            timeout=600,
            what="the operations server's /readyz",
        )
        if server.poll() is not None:
            log.flush()
            pytest.fail(f"the server exited early:\n{(home / 'server.log').read_text()[-3000:]}")
        yield LiveServer(
            base_url=base, screenshots=_screenshot_dir(tmp_path_factory), outbox=home / "outbox"
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def upstream(base_url: str, events: list[dict[str, Any]]) -> None:
    """Events from the upstream feed, through the ingest API, as the feed sends them."""
    # Minted when used, and lasting a day: it cannot expire during a slow run.
    settings = Settings(environment=Environment.DEVELOPMENT)
    token = mint_development_token(settings, ["events:write"], ttl=24 * 3600)
    for event in events:
        answer = httpx.post(
            f"{base_url}/api/v1/events",
            json=event,
            headers={"Authorization": f"Bearer {token}"},
            timeout=180,
        )
        assert answer.is_success, answer.text


def release_event(n: int, tag: str) -> dict[str, Any]:
    return {
        "source": "demo-enforce",
        "source_event_id": f"ops-{tag}-{n}",
        "occurred_at": "2026-11-27T08:00:00Z",
        "event_type": "custody.released",
        "subject": {"subject_id": f"S-{n:06d}"},
        "case": {"case_number": f"CASE-2026-{n:06d}", "custody_status": "released"},
    }


def csrf_of(page: Page) -> str:
    return page.locator("input[name=csrf_token]").first.get_attribute("value") or ""


def first_recipient(page: Page, base: str) -> str:
    page.goto(f"{base}/portal/messages/new")
    options = page.get_by_label("Recipient").locator("option")
    return options.nth(1).get_attribute("value") or ""


@pytest.fixture(scope="session")
def _built_worlds() -> dict[str, OpsWorld]:
    return {}


@pytest.fixture(scope="module")
def ops_world(
    browser: Browser, ops_server: LiveServer, _built_worlds: dict[str, OpsWorld]
) -> OpsWorld:
    """A held message, a decided pause, a webhook endpoint and a quarantined event to show.

    Built once per run and kept: the guard's pause can only be opened once on this server,
    while the browser that builds it lives per module (Playwright's sync API per module).
    """
    if ops_server.base_url not in _built_worlds:
        _built_worlds[ops_server.base_url] = _build_world(browser, ops_server)
    return _built_worlds[ops_server.base_url]


def _build_world(browser: Browser, ops_server: LiveServer) -> OpsWorld:
    base = ops_server.base_url
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, base, "liaison", "Lee Liaison")
    link_id = first_recipient(page, base)
    sent = page.request.post(
        f"{base}/portal/messages",
        form={"link_id": link_id, "channel": "email", "csrf_token": csrf_of(page),
              "body": "Call us about A123456789 before 12/01/1980."},
        max_redirects=0,
    )  # fmt: skip
    found = re.search(r"/portal/messages/(\d+)$", sent.headers["location"])
    assert found, sent.headers
    message_id = int(found.group(1))
    upstream(base, [release_event(n, "world") for n in (7, 8, 9)])
    spilled = release_event(10, "spill")
    spilled["markings"] = {"/case": "SECRET//NOFORN"}
    upstream(base, [spilled])
    context.clear_cookies()
    sign_in(page, base, "supervisor", "Sam Supervisor")
    page.goto(f"{base}/portal/guard")
    heading = page.get_by_role("heading", name=re.compile(r"^Pause \d+"))
    pause_id = int(re.findall(r"\d+", heading.first.inner_text())[0])
    page.get_by_role("button", name=f"Cancel pause {pause_id}").click()
    page.get_by_test_id("pause-status").filter(has_text="cancelled").wait_for()
    context.clear_cookies()
    sign_in(page, base, "admin", "Ada Admin")
    page.goto(f"{base}/portal/webhooks")
    page.get_by_label("Endpoint URL").fill("https://partner.example/hooks")
    page.get_by_label("Partner name").fill("State VINE")
    page.get_by_label("Partner contact").fill("ops@partner.example")
    # USWDS draws its own box and moves the real checkbox off-screen, where Playwright will not
    # click it; a person clicks the label, which checks the same box.
    page.get_by_text(re.compile(r"^case\.closed")).click()
    expect(page.get_by_label("case.closed")).to_be_checked()
    page.get_by_role("button", name="Register endpoint").click()
    page.get_by_role("link", name="Go to the endpoint").click()
    found = re.search(r"/portal/webhooks/(\d+)$", page.url)
    assert found, page.url
    context.close()
    return OpsWorld(ops_server, message_id, pause_id, int(found.group(1)))
