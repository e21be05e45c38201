"""A question's journey: a victim asks, staff answer in the portal, and the victim reads it.

Both halves run in a real browser: the victim asks on the self-service form, staff answer on
the portal's inbox and thread pages, and the victim signs in again to read the answer on My
questions. axe-core checks every page at 1280 and 320 px.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser.conftest import LiveServer, axe_check, record_traffic, sign_in
from tests.e2e.browser.test_portal_pages import check_page
from tests.e2e.browser.test_self_service_journeys import check_page as check_victim_page
from tests.e2e.browser.test_self_service_journeys import pin_sign_in

pytestmark = pytest.mark.e2e

# A demo registrant (voice/demo/data.py publishes the demo's sign-ins), English, with a
# verified link; one no other journey signs in as.
DEMO_VICTIM = ("V-0000-0004", "20260004")


def _victim_asks(browser: Browser, live_server: LiveServer, question: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        pin_sign_in(page, live_server, *DEMO_VICTIM)
        page.wait_for_url(re.compile(r"/self-service/cases$"))
        page.get_by_role("link", name="Ask a question").first.click()
        page.get_by_label("What is it about?").select_option(label="A court hearing")
        page.get_by_label(re.compile("^Your question")).fill(question)
        page.get_by_role("button", name="Send my question").click()
        expect(page.get_by_role("heading", name="We got your question")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_text("You are signed out.")).to_be_visible()
    finally:
        context.close()


def _open_thread_of(page: Page, question: str) -> None:
    """Open the listed inquiry that holds ``question``: the victim's page shows no inquiry
    number, and other journeys may have asked about a hearing too."""
    links = page.get_by_role("link", name=re.compile(r"^Inquiry \d+$"))
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    for href in hrefs:
        assert href is not None
        page.goto(urljoin(page.url, href))
        page.get_by_role("heading", name=re.compile(r"^Inquiry \d+")).wait_for()
        if page.get_by_text(question).count():
            return
    raise AssertionError("the victim's question is not in the inbox")


def _victim_reads(browser: Browser, live_server: LiveServer, question: str, answer: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        pin_sign_in(page, live_server, *DEMO_VICTIM)
        page.wait_for_url(re.compile(r"/self-service/cases$"))
        page.get_by_role("link", name="My questions").click()
        expect(page.get_by_role("heading", name="My questions", level=1)).to_be_visible()
        thread = page.locator("section", has_text=question)
        expect(thread.get_by_text(answer)).to_be_visible()
        expect(thread.get_by_text("We answered.")).to_be_visible()
        expect(thread.get_by_text(re.compile("^Our answer,"))).to_be_visible()
        assert "court calendar" not in page.content()  # staff's internal note stays inside
        check_victim_page(page, live_server, "my-questions")
    finally:
        context.close()


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
        _victim_asks(browser, live_server, question)

        sign_in(page, base, "liaison", name="Liaison Tester")
        page.get_by_role("navigation", name="Portal").get_by_role("link", name="Inquiries").click()
        page.get_by_role("heading", name="Inquiries").wait_for()
        _wide_and_narrow(page, live_server, "inbox")
        page.get_by_label("Category").select_option("hearing")
        page.get_by_role("button", name="Filter").click()
        _open_thread_of(page, question)
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

        _victim_reads(browser, live_server, question, answer)
    finally:
        context.close()
