"""Signing a victim in to the self-service pages, as a browser would, for the page tests."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(page: Response) -> str:
    found = _CSRF.search(page.text)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, victim_code: str | None, pin: str) -> Response:
    form = client.get("/self-service/sign-in")
    answer: Response = client.post(
        "/self-service/sign-in",
        data={"victim_id": victim_code or "", "pin": pin, "csrf_token": csrf(form)},
        follow_redirects=False,
    )
    return answer


def post_form(client: TestClient, page: str, action: str, data: dict[str, str]) -> Response:
    """Submit a form of ``page``, carrying its CSRF token."""
    token = csrf(client.get(page))
    answer: Response = client.post(
        action, data={**data, "csrf_token": token}, follow_redirects=False
    )
    return answer
