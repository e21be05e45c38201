"""The browser harness: the real app on a free port, Debian's chromium through Playwright, and
axe-core on every page.

Nothing here downloads a browser: Playwright drives the system's ``/usr/bin/chromium`` through
``executable_path``, and axe-core comes from this folder's ``npm ci``. Without the browser the
tests skip, unless ``VOICE_TEST_REQUIRE_BROWSER`` is set (as in CI), when they fail instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Request,
    Response,
    expect,
    sync_playwright,
)

from tests.e2e.helpers import REPO, wait_for

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Upper bounds, never waits: on a loaded machine a page can take far longer than Playwright's
# defaults (30 s for an action, 5 s for an assertion), and the suite must pass three times slower.
SLOW_MACHINE_TIMEOUT_MS = 180_000
expect.set_options(timeout=SLOW_MACHINE_TIMEOUT_MS)


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    screenshots: Path
    # Where the server's file adapters write what they send (emails under "email/").
    outbox: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # pytest keeps only its last few temporary folders; a person reviewing the pages can name
    # a folder of their own that stays.
    chosen = os.environ.get("VOICE_TEST_SCREENSHOTS")
    if not chosen:
        return tmp_path_factory.mktemp("screenshots")
    folder = Path(chosen)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``voice serve --demo`` in a child process, on a fresh SQLite database with the demo data."""
    home = tmp_path_factory.mktemp("browser-server")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_")}
    env.update(
        VOICE_ENVIRONMENT="development",  # the development sign-in stands in for the provider
        VOICE_DATABASE_URL=f"sqlite:///{home / 'voice.db'}",
        VOICE_OUTBOX_DIR=str(home / "outbox"),
        PYTHONPATH=str(REPO),
    )
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "voice.cli", "serve", "--demo", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(
            lambda: _ready(f"{base}/readyz") or server.poll() is not None,
            timeout=600,
            what="the server's /readyz",
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


# Playwright's synchronous API keeps an event loop running on the main thread while it is
# open, and asyncio.run() refuses to start inside one: so it is open for one test module at a
# time, never for the rest of the session.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("VOICE_TEST_REQUIRE_BROWSER"):
            pytest.fail(message + "; VOICE_TEST_REQUIRE_BROWSER is set, so this is a failure")
        pytest.skip(message)
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in {AXE.parents[2]}")
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
    )
    new_context = launched.new_context
    new_page = launched.new_page

    def patient_context(**options: Any) -> BrowserContext:
        context = new_context(**options)
        context.set_default_timeout(SLOW_MACHINE_TIMEOUT_MS)
        context.set_default_navigation_timeout(SLOW_MACHINE_TIMEOUT_MS)
        return context

    def patient_page(**options: Any) -> Page:
        page = new_page(**options)
        page.set_default_timeout(SLOW_MACHINE_TIMEOUT_MS)
        page.set_default_navigation_timeout(SLOW_MACHINE_TIMEOUT_MS)
        return page

    launched.new_context = patient_context  # type: ignore[method-assign]
    launched.new_page = patient_page  # type: ignore[method-assign]
    try:
        yield launched
    finally:
        launched.close()


@dataclass
class Traffic:
    """Every request a page made, and whatever it reported as an error."""

    origin: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        # data: URLs are the stylesheet's inline images: they never leave the browser.
        return [
            url
            for url in self.requests
            if not (url.startswith(self.origin + "/") or url.startswith("data:"))
        ]


def record_traffic(page: Page, origin: str) -> Traffic:
    traffic = Traffic(origin=origin)

    def on_request(request: Request) -> None:
        traffic.requests.append(request.url)

    def on_response(response: Response) -> None:
        # The document's own status is each test's business; any other failure is a defect.
        if response.status >= 400 and response.request.resource_type != "document":
            traffic.errors.append(f"{response.status} for {response.url}")

    page.on("request", on_request)
    page.on("response", on_response)
    page.on("pageerror", lambda error: traffic.errors.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            traffic.errors.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    return traffic


def axe_check(page: Page) -> None:
    """Run axe-core on the page and fail on any violation, whatever its impact."""
    # Evaluated through the DevTools protocol rather than added as a <script>: the page's
    # Content-Security-Policy rightly refuses inline scripts, and it must stay switched on.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    results: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    violations: list[dict[str, Any]] = results["violations"]
    assert not violations, f"axe-core on {page.url}:\n" + format_violations(violations)


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- [{violation.get('impact')}] {violation['id']}: {violation['help']}"
            f" ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"       {summary[:300]}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)


def sign_in(page: Page, base_url: str, role: str, name: str = "Browser Tester") -> None:
    """Sign in to the portal through the development sign-in, as a person would."""
    page.goto(f"{base_url}/portal/dev-sign-in")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Role").select_option(role)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/portal")  # the work queue is home
