"""A question's journey: a victim asks, staff answer in the portal, and the victim reads it.

The staff half runs in a real browser on the portal's inbox and thread pages, with axe-core at
1280 and 320 px on every page it passes. The victim's half goes through the self-service API,
which is what the self-service pages will call.
"""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import APIRequestContext, Browser, Page

from tests.e2e.browser.conftest import LiveServer, axe_check, record_traffic, sign_in
from tests.e2e.browser.test_portal_pages import check_page

pytestmark = pytest.mark.e2e

# A demo registrant (voice/demo/data.py publishes the demo's sign-ins).
DEMO_VICTIM = {"victim_id": "V-0000-0001", "pin": "20260001"}


def _victim_token(request: APIRequestContext, base: str) -> str:
    signed_in = request.post(f"{base}/api/v1/self-service/sign-in", data=DEMO_VICTIM)
    assert signed_in.status == 200, signed_in.text()
    token: str = signed_in.json()["access_token"]
    return token


def _wide_and_narrow(page: Page, live_server: LiveServer, shot: str) -> None:
    traffic = record_traffic(page, live_server.base_url)
    for width in (1280, 320):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        traffic.errors.clear()
        check_page(page, traffic, width, f"inquiry-{shot}-{width}", live_server)


def test_a_victim_asks_staff_answer_and_the_victim_reads_the_answer(
    browser: Browser, live_server: LiveServer
) -> None:
    base = live_server.base_url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        question = f"When is the next hearing? ({secrets.token_hex(3)})"
        victim = {"Authorization": f"Bearer {_victim_token(page.request, base)}"}
        asked = page.request.post(
            f"{base}/api/v1/self-service/inquiries",
            headers=victim,
            data={"body": question, "category": "hearing"},
        )
        assert asked.status == 201, asked.text()
        inquiry_id = asked.json()["inquiry_id"]

        sign_in(page, base, "liaison", name="Liaison Tester")
        page.get_by_role("navigation", name="Portal").get_by_role("link", name="Inquiries").click()
        page.get_by_role("heading", name="Inquiries").wait_for()
        _wide_and_narrow(page, live_server, "inbox")
        page.get_by_label("Category").select_option("hearing")
        page.get_by_role("button", name="Filter").click()
        page.get_by_role("link", name=f"Inquiry {inquiry_id}", exact=True).click()
        page.get_by_role("heading", name=f"Inquiry {inquiry_id}").wait_for()
        assert page.get_by_text(question).is_visible()
        _wide_and_narrow(page, live_server, "thread")

        page.get_by_role("button", name="Assign").click()
        page.get_by_text("dev:liaison", exact=True).first.wait_for()
        page.get_by_label("Internal note").fill("Checked the court calendar first.")
        page.get_by_role("button", name="Add note").click()
        page.get_by_text("Internal note by dev:liaison").wait_for()
        answer = "The court has not set the next hearing yet. We will write as soon as it does."
        page.get_by_label("Answer", exact=True).fill(answer)
        page.get_by_role("button", name="Send answer").click()
        page.get_by_text(re.compile(r"Answer \d+ by dev:liaison")).wait_for()
        assert page.get_by_text("sent by web").count() == 1
        axe_check(page)
        _wide_and_narrow(page, live_server, "answered")

        mine = page.request.get(f"{base}/api/v1/self-service/inquiries", headers=victim)
        assert mine.status == 200
        thread = next(t for t in mine.json()["data"] if t["inquiry_id"] == inquiry_id)
        assert thread["answered"] is True
        assert [item["who"] for item in thread["items"]] == ["you", "office"]
        assert thread["items"][1]["body"] == answer
        assert "court calendar" not in mine.text()
    finally:
        context.close()
