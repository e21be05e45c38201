"""The staff portal's first pages."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests import factories
from tests.identity import INGEST, staff_session
from voice.app import create_app
from voice.auth.access import AFTER_SIGN_IN_KEY
from voice.config import Environment, Settings
from voice.portal.oidc import page_after_sign_in


def test_portal_requires_sign_in_and_shows_case_with_timeline(client: TestClient) -> None:
    client.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    client.post("/api/v1/events", json=factories.event("case.hearing_scheduled"), headers=INGEST)
    # Browsers are sent to sign in; with no identity provider configured and no development
    # sign-in outside development, signing in is refused outright.
    redirect = client.get("/portal/cases", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (303, "/portal/sign-in")
    assert client.get("/portal/sign-in", follow_redirects=False).status_code == 503
    assert client.get("/portal/dev-sign-in").status_code == 404
    # A development session cookie is worth nothing outside development.
    staff_session(client, "liaison", via="development")
    assert client.get("/portal/cases", follow_redirects=False).status_code == 303
    staff_session(client, "liaison")
    listing = client.get("/portal/cases")
    assert listing.status_code == 200
    assert "CASE-T-0001" in listing.text


def test_portal_pages_in_development(committed_engine: Engine, settings: Settings) -> None:
    dev = settings.model_copy(update={"environment": Environment.DEVELOPMENT})
    with TestClient(create_app(dev, engine=committed_engine)) as client:
        client.post("/api/v1/events", json=factories.booking(), headers=INGEST)
        client.post(
            "/api/v1/events", json=factories.event("case.hearing_scheduled"), headers=INGEST
        )
        redirect = client.get("/portal/cases", follow_redirects=False)
        assert redirect.status_code == 303
        assert redirect.headers["location"] == "/portal/sign-in"
        to_dev = client.get("/portal/sign-in", follow_redirects=False)
        assert to_dev.headers["location"] == "/portal/dev-sign-in"
        form = client.get("/portal/dev-sign-in").text
        assert "DEVELOPMENT SIGN-IN" in form
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        # Without the form's CSRF token, the sign-in is refused.
        refused = client.post("/portal/dev-sign-in", data={"name": "Lee Liaison"})
        assert refused.status_code == 403
        signed_in = client.post(
            "/portal/dev-sign-in",
            data={"name": "Lee Liaison", "role": "supervisor", "csrf_token": csrf.group(1)},
            follow_redirects=False,
        )
        # Back to the page asked for before signing in.
        assert signed_in.headers["location"] == "/portal/cases"
        assert "supervisor" in client.get(signed_in.headers["location"]).text

        listing = client.get("/portal/cases")
        assert listing.status_code == 200
        assert "CASE-T-0001" in listing.text
        assert "Lee Liaison" in listing.text
        with Session(committed_engine) as session:
            case_id = factories.case_of(session).id
        page = client.get(f"/portal/cases/{case_id}")
        assert page.status_code == 200
        assert page.text.index("custody.booked") < page.text.index("case.hearing_scheduled")
        assert "case.officer_name" in page.text  # staff see what victims do not, and why
        assert client.get("/portal/cases/999999").status_code == 404

        assert client.post("/portal/sign-out").status_code == 403  # no CSRF token
        page_csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page_csrf is not None
        client.post("/portal/sign-out", data={"csrf_token": page_csrf.group(1)})
        assert client.get("/portal/cases", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("asked", "lands"),
    [
        (None, "/portal"),
        ("/portal/cases/7", "/portal/cases/7"),
        ("/portal", "/portal"),
        ("//evil.example/portal/", "/portal"),
        ("/portal//evil.example", "/portal"),
        ("https://evil.example/portal/x", "/portal"),
        ("/api/v1/victims", "/portal"),
        ("/portal/sign-in", "/portal"),
        (["/portal/cases"], "/portal"),
    ],
)
def test_after_sign_in_follows_only_a_portal_path(asked: object, lands: str) -> None:
    request = SimpleNamespace(session={} if asked is None else {AFTER_SIGN_IN_KEY: asked})
    assert page_after_sign_in(request) == lands  # type: ignore[arg-type]
    assert AFTER_SIGN_IN_KEY not in request.session  # used once
