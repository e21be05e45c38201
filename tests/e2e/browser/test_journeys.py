"""Staff journeys through the portal, in a real browser, by role and label alone.

1. Register a victim with email and phone, verify both contact points, link the victim to a
   case and verify the link; an event ingested through the API; the case page shows the notice
   delivered (the live server runs the worker).
2. Set a safety hold; an event sends no notice; a supervisor lifts the hold.

Every page a journey passes is checked with axe-core at 1280 and 320 px, for the journey's role
and for every other role the access matrix lets open it.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests import factories
from tests.e2e.browser.conftest import LiveServer, axe_check, sign_in
from tests.e2e.helpers import REPO, run_voice, wait_for
from voice.auth import matrix
from voice.auth.principals import Role

pytestmark = pytest.mark.e2e

WIDTHS = (1280, 320)
ROUTES = (
    (re.compile(r"/portal$"), "/portal"),
    (re.compile(r"/portal/search$"), "/portal/search"),
    (re.compile(r"/portal/cases/\d+$"), "/portal/cases/{case_id}"),
    (re.compile(r"/portal/registrants/new$"), "/portal/registrants/new"),
    (re.compile(r"/portal/registrants/\d+$"), "/portal/registrants/{victim_id}"),
    (re.compile(r"/portal/registrants/\d+/link$"), "/portal/registrants/{victim_id}/link"),
)


@dataclass
class Visited:
    """The pages a journey passed, by URL, and the matrix route each belongs to."""

    urls: dict[str, str] = field(default_factory=dict)

    def add(self, page: Page) -> None:
        path = page.url.split("#")[0]
        bare = re.sub(r"^https?://[^/]+", "", path).split("?")[0]
        for pattern, route in ROUTES:
            if pattern.match(bare):
                self.urls[path] = route


def check_both_widths(page: Page, visited: Visited) -> None:
    """axe-core on the page as it is now, at both widths; pages reached by a form too."""
    visited.add(page)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        axe_check(page)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{page.url} is {scroll_width}px wide at {width}px"
    page.set_viewport_size({"width": 1280, "height": 900})


def check_for_every_role(browser: Browser, server: LiveServer, visited: Visited) -> None:
    for role in Role:
        allowed = [
            url
            for url, route in visited.urls.items()
            if f"role:{role.value}" in (matrix.allowed("GET", route) or frozenset())
        ]
        if not allowed:
            continue
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        try:
            sign_in(page, server.base_url, role.value, name=f"Axe {role.value}")
            for url in allowed:
                response = page.goto(url)
                assert response is not None
                assert response.status == 200, (role, url)
                for width in WIDTHS:
                    page.set_viewport_size({"width": width, "height": 900})
                    axe_check(page)
                page.set_viewport_size({"width": 1280, "height": 900})
        finally:
            context.close()


@pytest.fixture(scope="module")
def ingest(live_server: LiveServer) -> Iterator[httpx.Client]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_")}
    env.update(VOICE_ENVIRONMENT="development", PYTHONPATH=str(REPO))
    token = run_voice(["dev-token", "events:write"], env).strip()
    with httpx.Client(
        base_url=live_server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=180
    ) as client:
        yield client


def post_event(client: httpx.Client, body: dict[str, object]) -> None:
    answer = client.post("/api/v1/events", json=body)
    assert answer.status_code in (200, 201, 202), answer.text


def new_case(client: httpx.Client) -> str:
    number = f"CASE-J-{uuid.uuid4().hex[:8].upper()}"
    post_event(client, factories.booking(subject_id=f"S-{number}", case_number=number))
    return number


def tick(page: Page, label: str) -> None:
    """Tick a USWDS checkbox the way a person does: its box is drawn by the label, and the
    input itself sits off-screen."""
    page.locator("label.usa-checkbox__label", has_text=label).click()
    expect(page.get_by_label(label)).to_be_checked()


def attest(page: Page, label: str, how: str) -> None:
    page.get_by_label(f"How you confirmed the {label}").fill(how)
    page.get_by_role("button", name=f"Confirm {label}", exact=True).click()


def notice_statuses(page: Page) -> list[str]:
    page.reload()
    return page.locator(".voice-status").all_inner_texts()


def both_delivered(statuses: list[str]) -> bool:
    # The development adapters write to files: a handed-over notice is final there.
    return len(statuses) == 2 and set(statuses) <= {"delivered", "sent"}


def test_register_verify_link_and_the_notice_goes_out(
    browser: Browser, live_server: LiveServer, ingest: httpx.Client
) -> None:
    number = new_case(ingest)
    visited = Visited()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server.base_url, Role.LIAISON.value, name="Lee Liaison")
        page.get_by_role("link", name="Work queue").click()
        check_both_widths(page, visited)
        page.get_by_role("link", name="Register a registrant").click()
        check_both_widths(page, visited)
        page.get_by_label("First name").fill("Ana")
        page.get_by_label("Last name").fill("Journey")
        page.get_by_label("Email address").fill("ana.journey@example.org")
        page.get_by_label("Mobile phone number").fill("202 555 0175")
        tick(page, "Text message")
        tick(page, "The registrant agrees")
        page.get_by_role("button", name="Register").click()
        expect(page.get_by_role("heading", name="Registered")).to_be_visible()
        expect(page.locator(".voice-pin")).to_have_text(re.compile(r"^\d{6,}$"))
        check_both_widths(page, visited)
        page.screenshot(path=live_server.screenshots / "journey-pin-letter.png", full_page=True)
        page.emulate_media(media="print")
        expect(page.get_by_role("navigation", name="Portal")).to_be_hidden()
        page.emulate_media(media="screen")

        page.get_by_role("link", name="Go to the registrant's page").click()
        check_both_widths(page, visited)
        attest(page, "email", "Called Ana on 2026-11-20; she read the address back.")
        expect(page.get_by_text("verified by your attestation")).to_be_visible()
        attest(page, "mobile phone", "Same call, on this number.")
        expect(page.get_by_text("waiting for verification")).to_have_count(0)
        check_both_widths(page, visited)

        page.get_by_role("link", name="Link to a case").click()
        page.get_by_label("Find the case").fill(number)
        page.get_by_role("button", name="Find case").click()
        check_both_widths(page, visited)
        page.get_by_role("button", name=f"Link to {number}").click()
        page.get_by_role("button", name=f"Verify relationship to {number}").click()
        expect(page.get_by_text("The link is verified")).to_be_visible()
        check_both_widths(page, visited)

        post_event(
            ingest,
            factories.event(
                "case.hearing_scheduled",
                subject_id=f"S-{number}",
                case_number=number,
                occurred_at="2026-11-20T10:00:00Z",
                case={"hearing_at": "2027-01-15T09:00:00Z", "hearing_court": "Sample Court"},
            ),
        )
        page.get_by_role("link", name="Search", exact=True).click()
        page.get_by_label("Search cases and registrants").fill(number)
        page.get_by_role("button", name="Search").click()
        check_both_widths(page, visited)
        page.get_by_role("link", name=number).click()
        wait_for(
            lambda: both_delivered(notice_statuses(page)),
            timeout=600,
            what="both notices delivered",
        )
        notices = page.get_by_role("table", name="Notices, newest event first")
        expect(notices.get_by_text("case.hearing_scheduled")).to_have_count(2)
        expect(page.get_by_role("link", name="Journey, Ana")).to_be_visible()
        check_both_widths(page, visited)
        page.screenshot(path=live_server.screenshots / "journey-case-delivered.png", full_page=True)
    finally:
        context.close()
    check_for_every_role(browser, live_server, visited)


def held_and_unsent(page: Page) -> bool:
    statuses = notice_statuses(page)
    transferred = page.locator(".timeline").get_by_text("custody.transferred").count() == 1
    return transferred and all(status == "cancelled" for status in statuses)


def test_a_safety_hold_stops_the_notice(
    browser: Browser, live_server: LiveServer, ingest: httpx.Client
) -> None:
    number = new_case(ingest)
    visited = Visited()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server.base_url, Role.LIAISON.value, name="Lee Liaison")
        # A registrant linked and verified through the forms, so a notice would go out.
        page.goto(f"{live_server.base_url}/portal/registrants/new")
        page.get_by_label("First name").fill("Hal")
        page.get_by_label("Last name").fill("Holder")
        page.get_by_label("Email address").fill("hal.holder@example.org")
        page.get_by_label("Case number").fill(number)
        tick(page, "The registrant agrees")
        page.get_by_role("button", name="Register").click()
        page.get_by_role("link", name="Go to the registrant's page").click()
        attest(page, "email", "Called Hal; he confirmed the address.")
        page.get_by_role("button", name=f"Verify relationship to {number}").click()
        page.get_by_role("link", name=number).click()
        check_both_widths(page, visited)

        page.get_by_label("Reason").fill("Victim reports threats")
        page.get_by_label("Hold until (UTC)").fill("2099-01-01T00:00")
        page.get_by_role("button", name="Set hold").click()
        expect(page.get_by_text("The safety hold is set")).to_be_visible()
        expect(page.get_by_role("heading", name="Safety hold", exact=True)).to_be_visible()
        check_both_widths(page, visited)

        post_event(
            ingest,
            factories.event(
                "custody.transferred",
                subject_id=f"S-{number}",
                case_number=number,
                occurred_at="2026-11-21T10:00:00Z",
                case={"facility_name": "Other Center", "custody_status": "in_custody"},
            ),
        )
        # The worker settles the notice without sending it: nothing is disclosable under a hold.
        # The event folds in one transaction with any notice it causes (the outbox), so once
        # the timeline shows it, every notice it caused is on the page: none may be sent.
        wait_for(
            lambda: held_and_unsent(page),
            timeout=600,
            what="the event on the timeline, and no notice sent",
        )
        expect(page.get_by_text("No notice has been sent about this case.")).to_be_visible()
        check_both_widths(page, visited)
    finally:
        context.close()

    supervisor = browser.new_context(viewport={"width": 1280, "height": 900})
    page = supervisor.new_page()
    try:
        sign_in(page, live_server.base_url, Role.SUPERVISOR.value, name="Sam Supervisor")
        page.get_by_role("link", name="Search", exact=True).click()
        page.get_by_label("Search cases and registrants").fill(number)
        page.keyboard.press("Enter")
        page.get_by_role("link", name=number).click()
        page.get_by_role("button", name=re.compile(r"^Lift hold #\d+$")).click()
        expect(page.get_by_text("The safety hold is lifted")).to_be_visible()
        expect(page.get_by_role("heading", name="Safety hold", exact=True)).to_have_count(0)
        check_both_widths(page, visited)
    finally:
        supervisor.close()
    check_for_every_role(browser, live_server, visited)


def test_keyboard_reaches_the_queue_with_visible_focus(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server.base_url, Role.LIAISON.value)
        page.goto(f"{live_server.base_url}/portal")
        seen = set()
        for _ in range(25):
            page.keyboard.press("Tab")
            focused = page.evaluate(
                """() => { const e = document.activeElement; const s = getComputedStyle(e);
                return [e.tagName + ':' + (e.textContent || '').trim().slice(0, 40),
                        s.outlineStyle, parseFloat(s.outlineWidth)]; }"""
            )
            name, style, width = focused
            assert style != "none", f"no visible focus on {name}"
            assert width > 0, f"no visible focus on {name}"
            seen.add(name)
        assert any("Search" in name for name in seen), seen
        # The side navigation works from the keyboard alone.
        page.get_by_role("link", name="Search", exact=True).focus()
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server.base_url}/portal/search")
    finally:
        context.close()
