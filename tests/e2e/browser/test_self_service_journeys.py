"""Victims' journeys through the self-service pages, in a real browser.

Every page a journey passes is checked with axe-core at 1280 and 320 px wide (zero violations
of any impact) and must not scroll sideways at 320 px. The demo data's published sign-ins are
used: V-0000-0001 (English, two cases), V-0000-0002 (Spanish), V-0000-0005 (whose case's
subject is protected by 8 U.S.C. 1367).
"""

from __future__ import annotations

import json
import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser.conftest import LiveServer, axe_check
from tests.e2e.helpers import wait_for

pytestmark = pytest.mark.e2e

WIDTHS = (1280, 320)
NEW_PHONE = "+12025550143"


def check_page(page: Page, server: LiveServer, name: str) -> None:
    """axe-core at both widths, reflow at 320 px, and a screenshot of each."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        axe_check(page)
        if width == 320:
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= 320, f"{page.url} scrolls sideways at 320 px ({scroll})"
        page.screenshot(path=str(server.screenshots / f"self-service-{name}-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


def pin_sign_in(page: Page, server: LiveServer, code: str, pin: str) -> None:
    page.goto(f"{server.base_url}/self-service/sign-in")
    form = page.locator("form[action='/self-service/sign-in']")
    form.get_by_label(re.compile("Victim ID")).fill(code)
    form.get_by_label(re.compile(r"^PIN")).fill(pin)
    form.get_by_role("button").click()


def confirm_critical_notice(page: Page, button: str) -> None:
    """Confirm the demo's critical notice once the demo's worker has sent it."""

    def offered() -> bool:
        if page.get_by_role("button", name=button).count():
            return True
        page.reload()
        return False

    wait_for(offered, timeout=600, what="a critical notice to confirm")
    page.get_by_role("button", name=button).first.click()


def _texted_code(outbox: Path, to: str) -> str | None:
    """The newest confirmation code the file SMS adapter wrote for ``to``."""
    folder = outbox / "sms"
    texts = sorted(folder.glob("verify-phone-*.json"), key=lambda p: p.stat().st_mtime)
    for path in reversed(texts):
        message = json.loads(path.read_text(encoding="utf-8"))
        found = re.search(r"\b(\d{6})\b", message["body"])
        if message["to"] == to and found:
            return found.group(1)
    return None


def test_sign_in_confirm_a_notice_change_the_phone_ask_a_question_and_sign_out(
    browser: Browser, live_server: LiveServer
) -> None:
    page = browser.new_context().new_page()
    page.goto(f"{live_server.base_url}/self-service/sign-in")
    check_page(page, live_server, "sign-in")
    pin_sign_in(page, live_server, "V-0000-0001", "20260001")
    page.wait_for_url(re.compile(r"/self-service/cases$"))
    expect(page.get_by_role("heading", name="My cases", level=1)).to_be_visible()
    expect(page.get_by_text("What usually happens next").first).to_be_visible()
    html = page.content()
    for raw in ("in_custody", "hearing_scheduled", "custody.booked", "+00:00"):
        assert raw not in html
    check_page(page, live_server, "cases")

    page.get_by_role("link", name="My notices").click()
    expect(page.get_by_role("heading", name="My notices", level=1)).to_be_visible()
    check_page(page, live_server, "notices")
    confirm_critical_notice(page, "Confirm I got this notice")
    expect(page.get_by_text("Thank you. We know you got this notice.")).to_be_visible()
    check_page(page, live_server, "notice-confirmed")

    page.get_by_role("link", name="My preferences").click()
    expect(page.get_by_role("heading", name="My preferences", level=1)).to_be_visible()
    check_page(page, live_server, "preferences")
    page.get_by_label("Phone number for text messages").fill("202 555 0143")
    page.get_by_role("button", name="Save my phone number").click()
    code_heading = page.get_by_role("heading", name="Enter the code we texted you", level=1)
    expect(code_heading).to_be_visible()
    check_page(page, live_server, "phone-code")
    page.get_by_label(re.compile("^Code")).fill("000000")
    page.get_by_role("button", name="Confirm my phone number").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    check_page(page, live_server, "phone-code-wrong")
    wait_for(
        lambda: _texted_code(live_server.outbox, NEW_PHONE) is not None,
        timeout=60,
        what="the texted code",
    )
    code = _texted_code(live_server.outbox, NEW_PHONE)
    assert code is not None
    page.get_by_label(re.compile("^Code")).fill(code)
    page.get_by_role("button", name="Confirm my phone number").click()
    expect(page.get_by_text("Your phone number is confirmed.")).to_be_visible()
    expect(page.get_by_label("Phone number for text messages")).to_have_value(NEW_PHONE)
    check_page(page, live_server, "phone-confirmed")

    page.get_by_role("link", name="Ask a question").first.click()
    page.get_by_label("What is it about?").select_option(label="A court hearing")
    page.get_by_label(re.compile("^Your question")).fill("When is the next court date?")
    check_page(page, live_server, "question")
    page.get_by_role("button", name="Send my question").click()
    expect(page.get_by_role("heading", name="We got your question")).to_be_visible()
    expect(page.get_by_text(re.compile(r"We aim to answer by \w+ \d{1,2}, \d{4}"))).to_be_visible()
    check_page(page, live_server, "question-sent")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(f"{live_server.base_url}/self-service/cases")
    page.wait_for_url(re.compile(r"/self-service/sign-in"))


def test_a_spanish_speaker_sees_spanish_on_every_page(
    browser: Browser, live_server: LiveServer
) -> None:
    page = browser.new_context(locale="es-US").new_page()
    page.goto(f"{live_server.base_url}/self-service/sign-in")
    assert page.locator("html").get_attribute("lang") == "es"
    pin_sign_in(page, live_server, "V-0000-0002", "20260002")
    page.wait_for_url(re.compile(r"/self-service/cases$"))
    for link, heading, name in (
        (None, "Mis casos", "es-cases"),
        ("Mis avisos", "Mis avisos", "es-notices"),
        ("Mis preferencias", "Mis preferencias", "es-preferences"),
        # This victim's phone number is not confirmed yet, and no code was texted: the page
        # that offers one.
        ("Confirme su número de teléfono", "Confirme su número de teléfono", "es-phone-code"),
        ("Hacer una pregunta", "Hacer una pregunta", "es-question"),
        ("Ver mis preguntas y sus respuestas", "Mis preguntas", "es-my-questions"),
        ("/self-service/no-such-page", "Página no encontrada", "es-not-found"),
    ):
        if link and link.startswith("/"):
            page.goto(f"{live_server.base_url}{link}")
        elif link:
            page.get_by_role("link", name=link).first.click()
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        assert page.locator("html").get_attribute("lang") == "es"
        text = page.locator("body").inner_text()
        for english in (
            "My cases",
            "Sign out",
            "What changed",
            "Notice",
            "Ask a question",
            "My questions",
            "code",
            "Page not found",
        ):
            assert english not in text, f"{english!r} on {page.url}"
        check_page(page, live_server, name)
        if name == "es-notices":
            confirm_critical_notice(page, "Confirmar que recibí este aviso")
            expect(page.get_by_text("Gracias. Sabemos que recibió este aviso.")).to_be_visible()
        if name == "es-question":
            page.get_by_label(re.compile("^Su pregunta")).fill("¿Cuándo es la audiencia?")
            page.get_by_role("button", name="Enviar mi pregunta").click()
            expect(page.get_by_role("heading", name="Recibimos su pregunta")).to_be_visible()
            assert "We aim" not in page.locator("body").inner_text()
            check_page(page, live_server, "es-question-sent")
            page.get_by_role("link", name="Hacer una pregunta").first.click()


def _sign_in_link(outbox: Path, seen: set[Path]) -> str | None:
    for path in sorted((outbox / "email").glob("*sign-in*")):
        if path in seen:
            continue
        body = message_from_bytes(path.read_bytes(), policy=policy.default)
        text = body.get_body(("plain",))
        found = re.search(
            r"https?://\S+/self-service/sign-in-link\?token=\S+",
            str(text and text.get_content()),
        )
        if found:
            return found.group(0)
    return None


def test_a_paused_sign_in_is_explained_and_an_emailed_link_gets_the_victim_in(
    browser: Browser, live_server: LiveServer
) -> None:
    page = browser.new_context().new_page()
    before = (
        set((live_server.outbox / "email").glob("*"))
        if (live_server.outbox / "email").exists()
        else set()
    )
    for _ in range(6):
        pin_sign_in(page, live_server, "V-0000-0003", "00000000")
        expect(page.get_by_role("heading", name="We could not sign you in")).to_be_visible()
    expect(page.get_by_text("sign-in pauses for a few minutes")).to_be_visible()
    check_page(page, live_server, "paused")
    # The right PIN while paused is refused the same way: nothing says the ID exists.
    pin_sign_in(page, live_server, "V-0000-0003", "20260003")
    expect(page.get_by_role("heading", name="We could not sign you in")).to_be_visible()

    link_form = page.locator("form", has=page.get_by_role("button", name="Email me a sign-in link"))
    link_form.get_by_label("Victim ID").fill("V-0000-0003")
    link_form.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    check_page(page, live_server, "link-sent")
    wait_for(
        lambda: _sign_in_link(live_server.outbox, before) is not None,
        timeout=600,
        what="the sign-in email",
    )
    url = _sign_in_link(live_server.outbox, before)
    assert url is not None
    # The link names the configured public address; the test server listens elsewhere.
    page.goto(live_server.base_url + url[url.index("/self-service/") :])
    check_page(page, live_server, "link")
    page.get_by_role("button", name="Sign in and see my cases").click()
    page.wait_for_url(re.compile(r"/self-service/cases$"))
    expect(page.get_by_role("heading", name="My cases", level=1)).to_be_visible()


def test_a_protected_case_shows_the_neutral_message_and_nothing_withheld(
    browser: Browser, live_server: LiveServer
) -> None:
    page = browser.new_context().new_page()
    pin_sign_in(page, live_server, "V-0000-0005", "20260005")
    page.wait_for_url(re.compile(r"/self-service/cases$"))
    expect(
        page.get_by_text("Information about this case is not available right now")
    ).to_be_visible()
    html = page.content()
    assert not re.search(r"A\d{9}", html)  # no A-number
    for withheld in ("Case of ", "In ICE custody", "What changed", "CASE-2026-"):
        assert withheld not in html
    check_page(page, live_server, "protected")
