"""People get HTML error pages in the site's layout; the API keeps its problem details."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests import identity
from voice.app import create_app
from voice.auth.deps import authorize
from voice.config import Settings

HTML = "text/html"


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=committed_engine)) as client:
        yield client


def test_a_missing_case_is_an_html_page_in_the_layout(client: TestClient) -> None:
    identity.staff_session(client, "liaison")
    answer = client.get("/portal/cases/999999")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith(HTML)
    assert "Page not found" in answer.text
    assert "An official website of the United States government" in answer.text
    assert '<main id="main-content"' in answer.text
    # The security headers still apply to error pages.
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"


def test_a_role_that_may_not_open_a_page_gets_an_html_403(client: TestClient) -> None:
    identity.staff_session(client, "auditor")
    answer = client.get("/portal/cases")
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith(HTML)
    assert "You cannot open this page" in answer.text
    # The exception's detail is for developers: it is not shown.
    assert "this caller may not use this route" not in answer.text


def test_an_unknown_portal_address_and_a_bad_query_are_html(client: TestClient) -> None:
    identity.staff_session(client, "liaison")
    unknown = client.get("/portal/no-such-page")
    assert (unknown.status_code, unknown.headers["content-type"][:9]) == (404, HTML)
    invalid = client.get("/portal/cases?page=0")
    assert (invalid.status_code, invalid.headers["content-type"][:9]) == (422, HTML)
    assert "This request was not understood" in invalid.text


def test_anonymous_people_are_still_sent_to_sign_in(client: TestClient) -> None:
    answer = client.get("/portal/cases", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/portal/sign-in")


def test_the_api_keeps_problem_details(client: TestClient) -> None:
    identity.staff_session(client, "liaison")
    answer = client.get("/api/v1/cases/999999")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (
        client.get("/api/v1/no-such-thing")
        .headers["content-type"]
        .startswith("application/problem+json")
    )


def test_the_design_system_and_the_portal_styles_are_served(client: TestClient) -> None:
    for path in (
        "/static/uswds/css/uswds.min.css",
        "/static/uswds/js/uswds.min.js",
        "/static/uswds/img/us_flag_small.png",
        "/static/web/voice.css",
        "/static/portal.css",
    ):
        assert client.get(path).status_code == 200, path


def test_a_failing_page_is_an_html_500_that_says_nothing_of_the_failure(
    committed_engine: Engine, settings: Settings
) -> None:
    app = create_app(settings, engine=committed_engine)
    # Routes added for this test only; the access matrix (which refuses unknown routes) is
    # tested on its own in tests/auth.
    app.dependency_overrides[authorize] = lambda: None

    @app.get("/portal/failing")
    def failing() -> None:
        raise RuntimeError("secret detail A123456789")

    @app.get("/api/v1/failing")
    def failing_api() -> None:
        raise RuntimeError("secret detail A123456789")

    with TestClient(app, raise_server_exceptions=False) as client:
        identity.staff_session(client, "liaison")
        page = client.get("/portal/failing")
        api = client.get("/api/v1/failing")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith(HTML)
    assert "Something went wrong" in page.text
    assert "A123456789" not in page.text
    assert api.status_code == 500
    assert api.headers["content-type"].startswith("application/problem+json")
    assert "A123456789" not in api.text
