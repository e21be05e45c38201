"""Journeys through the browser alone: a held staff message approved and sent, and a paused
burst of critical notices released and sent. Axe-core on every page passed, at both widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser.conftest import LiveServer, axe_check, record_traffic, sign_in
from tests.e2e.browser.ops.conftest import OpsWorld, release_event, upstream
from tests.e2e.helpers import wait_for

pytestmark = pytest.mark.e2e

WIDTHS = (1280, 320)
SSN = "219-09-9999"


def checked(page: Page, server: LiveServer, shot: str) -> None:
    """Axe-core at the page's width, no sideways scroll, and a screenshot to look at."""
    axe_check(page)
    width = page.viewport_size["width"] if page.viewport_size else 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url
    page.screenshot(path=server.screenshots / f"{shot}.png", full_page=True)


def reload_until(page: Page, test_id: str, text: str) -> None:
    """Reload until the worker's progress shows: the page has no script that would poll."""

    def shown() -> bool:
        page.reload()
        # textContent, not innerText: a USWDS tag shows its text in capitals.
        return text in (page.get_by_test_id(test_id).text_content() or "")

    wait_for(shown, timeout=600, what=f"{test_id} to show {text!r}")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_staff_message_with_an_ssn_is_held_approved_and_sent(
    browser: Browser, ops_world: OpsWorld, width: int
) -> None:
    server = ops_world.server
    base = server.base_url
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    traffic = record_traffic(page, base)
    try:
        sign_in(page, base, "liaison", "Lee Liaison")
        page.get_by_role("link", name="Write a message").click()
        checked(page, server, f"journey3-{width}-compose")
        recipient = page.get_by_label("Recipient")
        recipient.select_option(index=1)
        page.get_by_label("Send by").select_option("email")
        body = f"Please confirm the SSN {SSN} on the court form."
        page.get_by_label("Message").fill(body)
        page.get_by_role("button", name="Submit message").click()
        expect(page.get_by_role("heading", name="Held for a supervisor's review")).to_be_visible()
        start = body.index(SSN)
        expect(
            page.get_by_text(f"Social Security number at characters {start + 1} to")
        ).to_be_visible()
        message_url = page.url
        message_no = re.findall(r"\d+$", message_url)[0]
        checked(page, server, f"journey3-{width}-held")
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, base, "supervisor", "Sam Supervisor")
        page.get_by_role("link", name="Messages to review").click()
        expect(
            page.get_by_role("heading", name=re.compile(f"^Message {message_no} to"))
        ).to_be_visible()
        checked(page, server, f"journey3-{width}-queue")
        held = page.get_by_role("article", name=re.compile(f"^Message {message_no} to"))
        held.get_by_label("Note (optional)").fill("The court needs it")
        page.get_by_role("button", name=f"Approve message {message_no}").click()
        page.wait_for_url(message_url)
        reload_until(page, "message-status", "sent")
        expect(page.get_by_role("heading", name="Sent")).to_be_visible()
        checked(page, server, f"journey3-{width}-sent")
        assert not traffic.foreign(), traffic.foreign()
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_mass_event_is_paused_released_and_sent(
    browser: Browser, ops_world: OpsWorld, width: int
) -> None:
    server = ops_world.server
    base = server.base_url
    # A feed sends a burst of releases: more than the guard lets through in its window.
    cases = (13, 14, 15) if width == 1280 else (16, 19, 20)
    upstream(base, [release_event(n, f"burst-{width}") for n in cases])
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, base, "supervisor", "Sam Supervisor")
        page.get_by_role("link", name="Mass-event guard").click()
        open_pause = page.get_by_role("heading", name=re.compile(r"^Pause \d+: \d+ notices"))
        expect(open_pause).to_have_count(1)
        pause_no = re.findall(r"\d+", open_pause.inner_text())[0]
        # The sample shows the burst's cases (a case whose registrants take no notice of this
        # event has none in it) and nothing else.
        sample = page.get_by_role("table", name=f"A sample of the notices in pause {pause_no}")
        shown = set(sample.get_by_role("link").all_text_contents())
        burst = {f"CASE-2026-{n:06d}" for n in cases}
        assert shown <= burst, shown
        assert len(shown) >= 2, shown
        checked(page, server, f"journey4-{width}-paused")
        page.get_by_role("button", name=f"Release pause {pause_no}").click()
        expect(page.get_by_test_id("pause-status")).to_have_text("released")

        def all_sent() -> bool:
            page.reload()
            lines = page.get_by_test_id("pause-by-status").locator("li").all_text_contents()
            return bool(lines) and all(line.startswith("sent:") for line in lines)

        wait_for(all_sent, timeout=600, what="every notice of the pause to be sent")
        checked(page, server, f"journey4-{width}-released")
        page.get_by_role("link", name="Mass-event guard").click()
        expect(page.get_by_text("No pause is open")).to_be_visible()
    finally:
        context.close()
