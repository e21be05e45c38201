"""The harness's own checks can fail: axe-core finds a violation, foreign requests are caught."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.e2e.browser.conftest import Traffic, axe_check

pytestmark = pytest.mark.e2e


def test_axe_check_fails_on_an_inaccessible_page_and_names_the_rule(browser: Browser) -> None:
    page = browser.new_page()
    try:
        page.set_content(
            '<!doctype html><html lang="en"><head><title>t</title></head>'
            '<body><main><h1>T</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
            "</main></body></html>"
        )
        with pytest.raises(AssertionError) as failure:
            axe_check(page)
        assert "image-alt" in str(failure.value)
        assert "[critical]" in str(failure.value)
    finally:
        page.close()


def test_requests_to_another_origin_are_foreign() -> None:
    traffic = Traffic(origin="http://127.0.0.1:8000")
    traffic.requests += [
        "http://127.0.0.1:8000/static/uswds/css/uswds.min.css",
        "data:image/svg+xml;base64,AAAA",
        "https://cdn.example.org/uswds.min.css",
        "http://127.0.0.1:8001/other-port",
        "http://127.0.0.1:8000.evil.example/x",
    ]
    assert traffic.foreign() == [
        "https://cdn.example.org/uswds.min.css",
        "http://127.0.0.1:8001/other-port",
        "http://127.0.0.1:8000.evil.example/x",
    ]
