"""The emailed sign-in link: it signs the victim in to their pages, in their language, with the
neutral message for a case that shows nothing; a page opened with no link says what to do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests import factories
from tests.identity import INGEST
from tests.selfservice.web_helpers import post_form
from voice.app import create_app
from voice.config import EmailAdapterKind, Settings
from voice.database import transaction
from voice.victims.models import Language


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    memory = settings.model_copy(update={"email_adapter": EmailAdapterKind.MEMORY})
    # HTTPS: the self-service session cookie is Secure outside development.
    with TestClient(
        create_app(memory, engine=committed_engine), base_url="https://testserver"
    ) as client:
        yield client


def open_cases_page(client: TestClient, engine: Engine, language: Language) -> str:
    with transaction(engine) as session:
        victim, _, _ = factories.victim_with_link(
            session, factories.case_of(session), language=language
        )
    client.post("/api/v1/self-service/sign-in-link", json={"victim_id": victim.victim_code})
    (message,) = client.app.state.sign_in_email.outbox.values()  # type: ignore[attr-defined]
    token = message.text.split("token=")[1].split()[0]
    link = f"/self-service/sign-in-link?token={token}"
    signed_in = post_form(client, link, "/self-service/sign-in-link", {"token": token})
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/self-service/cases"
    shown = client.get("/self-service/cases")
    assert shown.status_code == 200
    page: str = shown.text
    return page


def test_a_spanish_speaking_victims_page_is_in_spanish(
    client: TestClient, committed_engine: Engine
) -> None:
    assert client.post("/api/v1/events", json=factories.booking(), headers=INGEST).is_success
    page = open_cases_page(client, committed_engine, Language.SPANISH)
    assert 'lang="es"' in page
    assert "Mis casos" in page
    assert "Bajo custodia de ICE en Example Processing Center" in page
    for english in ("My cases", "In ICE custody", "in_custody"):
        assert english not in page


def test_a_protected_case_shows_the_neutral_message_not_an_empty_card(
    client: TestClient, committed_engine: Engine
) -> None:
    protected = factories.event(
        "custody.booked",
        subject={"first_name": "Ramon", "flags": {"protected_1367": True}},
        case={"custody_status": "in_custody", "facility_name": "Example Processing Center"},
    )
    assert client.post("/api/v1/events", json=protected, headers=INGEST).is_success
    page = open_cases_page(client, committed_engine, Language.ENGLISH)
    assert "Information about this case is not available right now" in page
    assert "Example Processing Center" not in page
    assert "Ramon" not in page


def test_a_page_opened_without_a_link_says_a_link_is_needed_and_how_to_get_one(
    client: TestClient, settings: Settings
) -> None:
    page = client.get("/self-service/sign-in-link")
    assert page.status_code == 200
    assert "expired" not in page.text
    assert "already used" not in page.text
    assert "you need a sign-in link" in page.text
    assert "Victim ID" in page.text
    assert settings.office_contact in page.text
