"""Every portal page, for every staff role, at 1280 and 320 px wide, in a real browser.

Each page must pass axe-core with zero violations of any impact, reflow at 320 px without a
horizontal scroll (WCAG 2.1 1.4.10), load nothing from outside the served origin, and raise no
script or Content-Security-Policy error. Screenshots land in the session's temporary folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.browser.conftest import LiveServer, Traffic, axe_check, record_traffic, sign_in
from voice.auth import matrix
from voice.auth.principals import Role

pytestmark = pytest.mark.e2e

WIDTHS = (1280, 320)
ROLES = tuple(role.value for role in Role)
# A plain case, a minor's case and a case protected by 8 U.S.C. 1367 in the demo data.
DEMO_CASES = ("CASE-2026-000001", "CASE-2026-000003", "CASE-2026-000005")
HELD_CASE = DEMO_CASES[0]


@dataclass(frozen=True)
class PortalPage:
    name: str
    path: str
    route: str  # the access matrix's name for it


@pytest.fixture(scope="module")
def demo_case_ids(browser: Browser, live_server: LiveServer) -> dict[str, int]:
    """The demo cases' ids as the case list links them; one gets a safety hold to show."""
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server.base_url, Role.LIAISON.value)
    page.goto(f"{live_server.base_url}/portal/cases")
    ids: dict[str, int] = {}
    for number in DEMO_CASES:
        href = page.get_by_role("link", name=number, exact=True).get_attribute("href") or ""
        found = re.fullmatch(r"/portal/cases/(\d+)", href)
        assert found, href
        ids[number] = int(found.group(1))
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    held = page.request.post(
        f"{live_server.base_url}/api/v1/cases/{ids[HELD_CASE]}/holds",
        headers={"X-CSRF-Token": csrf},
        data={"reason": "Victim reports threats", "expires_at": "2099-01-01T00:00:00Z"},
    )
    assert held.status == 201, held.text()
    context.close()
    return ids


def _pages(ids: dict[str, int]) -> list[PortalPage]:
    cases = [
        PortalPage(f"case-{number}", f"/portal/cases/{case_id}", "/portal/cases/{case_id}")
        for number, case_id in ids.items()
    ]
    return [
        PortalPage("home", "/portal", "/portal"),
        PortalPage("search", "/portal/search?q=CASE-2026-00000", "/portal/search"),
        PortalPage("register", "/portal/registrants/new", "/portal/registrants/new"),
        PortalPage("me", "/portal/me", "/portal/me"),
        PortalPage("cases", "/portal/cases", "/portal/cases"),
        PortalPage("cases-page-2", "/portal/cases?page=2", "/portal/cases"),
        *cases,
        PortalPage("case-missing", "/portal/cases/999999", "/portal/cases/{case_id}"),
        # The inquiry queue and its tools (their edit pages are passed in the inquiry journeys).
        PortalPage("inquiries", "/portal/inquiries", "/portal/inquiries"),
        PortalPage("inquiries-overdue", "/portal/inquiries?overdue=true", "/portal/inquiries"),
        PortalPage("call-new", "/portal/inquiries/calls/new", "/portal/inquiries/calls/new"),
        PortalPage(
            "call-search", "/portal/inquiries/calls/new?q=V-0000", "/portal/inquiries/calls/new"
        ),
        PortalPage("directory", "/portal/inquiries/directory", "/portal/inquiries/directory"),
        PortalPage(
            "directory-new", "/portal/inquiries/directory/new", "/portal/inquiries/directory/new"
        ),
        PortalPage("templates", "/portal/inquiries/templates", "/portal/inquiries/templates"),
        PortalPage(
            "template-new", "/portal/inquiries/templates/new", "/portal/inquiries/templates/new"
        ),
    ]


def _expected_status(page: PortalPage, role: str) -> int:
    if f"role:{role}" not in (matrix.allowed("GET", page.route) or frozenset()):
        return 403
    return 404 if page.name == "case-missing" else 200


def check_page(page: Page, traffic: Traffic, width: int, shot: str, server: LiveServer) -> None:
    axe_check(page)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide at {width}px"
    page.screenshot(path=server.screenshots / f"{shot}.png", full_page=True)
    assert not traffic.foreign(), f"{page.url} loaded from elsewhere: {traffic.foreign()}"
    assert not traffic.errors, f"{page.url}: {traffic.errors}"


def visit(page: Page, traffic: Traffic, url: str, status: int) -> None:
    traffic.errors.clear()
    response = page.goto(url)
    assert response is not None
    assert response.status == status, f"{url}: {response.status}, expected {status}"
    if status >= 400:
        # Chromium reports an error status of the document itself on the console: expected.
        traffic.errors[:] = [e for e in traffic.errors if "Failed to load resource" not in e]
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("role", ROLES)
def test_every_portal_page_for_every_role(
    browser: Browser,
    live_server: LiveServer,
    demo_case_ids: dict[str, int],
    role: str,
    width: int,
) -> None:
    base = live_server.base_url
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    traffic = record_traffic(page, base)
    try:
        sign_in(page, base, role)
        for portal_page in _pages(demo_case_ids):
            visit(page, traffic, base + portal_page.path, _expected_status(portal_page, role))
            check_page(page, traffic, width, f"{role}-{width}-{portal_page.name}", live_server)
        # The navigation, on the last page (a refusal for most roles), links only what the role
        # may open.
        nav = page.get_by_role("navigation", name="Portal")
        for label, path in (
            ("Cases", "/portal/cases"),
            ("Log a phone call", "/portal/inquiries/calls/new"),
            ("Referral directory", "/portal/inquiries/directory"),
            ("Answer templates", "/portal/inquiries/templates"),
        ):
            allowed = f"role:{role}" in (matrix.allowed("GET", path) or ())
            assert nav.get_by_role("link", name=label).count() == (1 if allowed else 0), label
        assert nav.get_by_role("link", name="My account").count() == 1
        traffic.errors.clear()
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="You are signed out").wait_for()
        check_page(page, traffic, width, f"{role}-{width}-signed-out", live_server)
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_pages_before_sign_in(browser: Browser, live_server: LiveServer, width: int) -> None:
    base = live_server.base_url
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    traffic = record_traffic(page, base)
    try:
        for name, path, status in (
            ("dev-sign-in", "/portal/dev-sign-in", 200),
            ("portal-not-found", "/portal/no-such-page", 404),
            ("self-service-not-found", "/self-service/no-such-page", 404),
        ):
            visit(page, traffic, base + path, status)
            check_page(page, traffic, width, f"anonymous-{width}-{name}", live_server)
        # Signing in is refused without the form's CSRF token: the refusal is a page too.
        page.goto(f"{base}/portal/dev-sign-in")
        page.locator("input[name=csrf_token]").evaluate("field => field.value = 'wrong'")
        traffic.errors.clear()
        with page.expect_response(f"{base}/portal/dev-sign-in") as answer:
            page.get_by_role("button", name="Sign in").click()
        assert answer.value.status == 403
        page.get_by_role("heading", name="You cannot open this page").wait_for()
        page.wait_for_load_state("load")
        traffic.errors[:] = [e for e in traffic.errors if "Failed to load resource" not in e]
        check_page(page, traffic, width, f"anonymous-{width}-forbidden", live_server)
    finally:
        context.close()
