"""The victims' error pages: on their layout, in their language, in their words."""

from __future__ import annotations

import pytest
from fastapi import HTTPException, Request
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests import factories
from tests.identity import INGEST
from tests.selfservice.web_helpers import sign_in
from voice.database import transaction
from voice.selfservice import pages
from voice.victims.models import Language


def _spanish_victim_signed_in(web: TestClient, engine: Engine) -> None:
    web.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with transaction(engine) as session:
        victim, _, pin = factories.victim_with_link(
            session, factories.case_of(session), language=Language.SPANISH
        )
    assert sign_in(web, victim.victim_code, pin).status_code == 303


def test_a_missing_page_is_in_the_signed_in_victims_language_with_their_navigation(
    web: TestClient, committed_engine: Engine
) -> None:
    _spanish_victim_signed_in(web, committed_engine)
    page = web.get("/self-service/no-such-page")
    assert page.status_code == 404
    assert '<html lang="es"' in page.text
    assert "Página no encontrada" in page.text
    assert "Mis casos" in page.text  # the navigation and its sign-out stay
    assert "Salir" in page.text
    assert "Page not found" not in page.text


def test_a_stale_form_is_explained_in_the_browsers_language(web: TestClient) -> None:
    stale = web.post(
        "/self-service/sign-in",
        data={"victim_id": "V-0000-0001", "pin": "1", "csrf_token": "stale"},
        headers={"Accept-Language": "es-US,es;q=0.9"},
    )
    assert stale.status_code == 400
    assert '<html lang="es"' in stale.text
    assert "Este formulario está desactualizado" in stale.text
    assert "usa-banner" in stale.text  # the victims' layout, not a bare page


def test_refused_and_failed_pages_speak_the_chosen_language(
    web: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(request: Request, **_: object) -> None:
        raise HTTPException(status_code=403)

    def fail(request: Request, **_: object) -> None:
        raise RuntimeError("a fault that must not be shown")

    monkeypatch.setattr(pages, "_sign_in_page", refuse)
    web.cookies.set("voice_lang", "es", path="/")
    refused = web.get("/self-service/sign-in")
    assert refused.status_code == 403
    assert "No puede abrir esta página" in refused.text
    monkeypatch.setattr(pages, "_sign_in_page", fail)
    with TestClient(web.app, base_url="https://testserver", raise_server_exceptions=False) as quiet:
        quiet.cookies.set("voice_lang", "en", path="/")
        failed = quiet.get("/self-service/sign-in")
    assert failed.status_code == 500
    assert "Something went wrong" in failed.text
    assert "must not be shown" not in failed.text
    assert "call the VOICE office" in failed.text
