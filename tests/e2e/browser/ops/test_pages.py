"""Every operations page, for every staff role, at 1280 and 320 px: axe-core finds nothing.

A role the access matrix refuses gets the portal's HTML refusal page (also checked), never
JSON. Screenshots land in the session's screenshot folder.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.browser.conftest import axe_check, record_traffic, sign_in
from tests.e2e.browser.ops.conftest import OpsWorld
from voice.auth import matrix
from voice.auth.principals import Role

pytestmark = pytest.mark.e2e

WIDTHS = (1280, 320)
ROLES = tuple(role.value for role in Role)


def pages(world: OpsWorld) -> list[tuple[str, str, str]]:
    """(name, path, the access matrix's route) of every operations page."""
    return [
        ("message-new", "/portal/messages/new", "/portal/messages/new"),
        ("message", f"/portal/messages/{world.message_id}", "/portal/messages/{message_id}"),
        ("message-review", "/portal/messages/review", "/portal/messages/review"),
        ("status-entry", "/portal/status-entry", "/portal/status-entry"),
        ("status-entry-release", "/portal/status-entry?event_type=custody.released",
         "/portal/status-entry"),
        ("status-entry-correction", "/portal/status-entry?event_type=correction",
         "/portal/status-entry"),
        ("guard", "/portal/guard", "/portal/guard"),
        ("guard-pause", f"/portal/guard/{world.pause_id}", "/portal/guard/{pause_id}"),
        ("privacy", "/portal/privacy", "/portal/privacy"),
        ("privacy-chain", "/portal/privacy/chain", "/portal/privacy/chain"),
        ("privacy-access", "/portal/privacy/access-log", "/portal/privacy/access-log"),
        ("security", "/portal/security", "/portal/security"),
        ("webhooks", "/portal/webhooks", "/portal/webhooks"),
        ("webhook", f"/portal/webhooks/{world.endpoint_id}", "/portal/webhooks/{endpoint_id}"),
    ]  # fmt: skip


def visit_and_check(
    page: Page, url: str, status: int, width: int, shot: str, world: OpsWorld
) -> None:
    response = page.goto(url)
    assert response is not None
    assert response.status == status, f"{url}: {response.status}, expected {status}"
    assert response.headers["content-type"].startswith("text/html"), url
    axe_check(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, url
    page.screenshot(path=world.server.screenshots / f"{shot}.png", full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("role", ROLES)
def test_every_operations_page_for_every_role(
    browser: Browser, ops_world: OpsWorld, role: str, width: int
) -> None:
    base = ops_world.server.base_url
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    traffic = record_traffic(page, base)
    try:
        sign_in(page, base, role)
        for name, path, route in pages(ops_world):
            allowed = f"role:{role}" in (matrix.allowed("GET", route) or frozenset())
            visit_and_check(page, base + path, 200 if allowed else 403, width,
                            f"ops-{role}-{width}-{name}", ops_world)  # fmt: skip
            if not allowed:
                assert page.get_by_role("heading", name="You cannot open this page").count() == 1
        nav = page.get_by_role("navigation", name="Portal")
        for label, path in (
            ("Write a message", "/portal/messages/new"),
            ("Webhooks", "/portal/webhooks"),
            ("Quarantine", "/portal/security"),
        ):
            shown = f"role:{role}" in (matrix.allowed("GET", path) or frozenset())
            assert nav.get_by_role("link", name=label).count() == (1 if shown else 0), label
        assert not traffic.foreign(), traffic.foreign()
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_form_errors_and_the_secret_page(browser: Browser, ops_world: OpsWorld, width: int) -> None:
    base = ops_world.server.base_url
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, base, "supervisor", "Sam Supervisor")
        page.goto(f"{base}/portal/status-entry")
        page.get_by_label("Event type").select_option("custody.released")
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Subject ID").fill("S-NOBODY")
        page.get_by_label("Case number").fill("CASE-NONE")
        page.get_by_label("When it happened (UTC)").fill("2026-11-27T09:30")
        page.get_by_label("Reason for entering this by hand").fill("Feed outage")
        page.get_by_role("button", name="Record status change").click()
        page.get_by_text("No subject has this subject ID.").wait_for()
        axe_check(page)
        page.screenshot(path=ops_world.server.screenshots / f"ops-{width}-entry-refused.png",
                        full_page=True)  # fmt: skip
        context.clear_cookies()
        sign_in(page, base, "admin", "Ada Admin")
        page.goto(f"{base}/portal/webhooks/{ops_world.endpoint_id}")
        page.get_by_role("button", name="Rotate the secret").click()
        page.get_by_role(
            "heading", name="Copy the secret now: it is shown only this once"
        ).wait_for()
        assert (page.get_by_label("Signing secret").input_value()).startswith("whsec_")
        axe_check(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=ops_world.server.screenshots / f"ops-{width}-secret.png",
                        full_page=True)  # fmt: skip
    finally:
        context.close()
