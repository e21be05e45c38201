"""Victim self-service sign-in: PIN, lockout, address limits, one-time links, sessions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests import factories
from tests.identity import INGEST, bearer
from tests.selfservice.web_helpers import use_sign_in_link
from voice.app import create_app
from voice.auth import credentials
from voice.auth.models import VictimSession
from voice.config import EmailAdapterKind, Settings
from voice.database import transaction, utcnow
from voice.notify.adapters.memory import MemoryEmailSender
from voice.victims import signin as victim_signin
from voice.victims.models import Victim

SIGN_IN = "/api/v1/self-service/sign-in"


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"email_adapter": EmailAdapterKind.MEMORY})


@pytest.fixture
def client(committed_engine: Engine, app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, engine=committed_engine)) as client:
        assert client.post("/api/v1/events", json=factories.booking(), headers=INGEST).is_success
        yield client


def _victim(engine: Engine, **kwargs: object) -> tuple[Victim, str]:
    with transaction(engine) as session:
        victim, _, pin = factories.victim_with_link(session, factories.case_of(session), **kwargs)  # type: ignore[arg-type]
    return victim, pin


def test_pin_sign_in_gives_a_session_that_reads_only_own_cases(
    client: TestClient, committed_engine: Engine
) -> None:
    victim, pin = _victim(committed_engine)
    assert victim.victim_code is not None
    assert re.fullmatch(r"V-[0-9A-Z]{4}-[0-9A-Z]{4}", victim.victim_code)
    # The Victim ID is forgiving about case and separators; the PIN is not.
    loose = victim.victim_code.lower().replace("-", " ")
    response = client.post(SIGN_IN, json={"victim_id": loose, "pin": pin})
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert token.startswith("vss_")
    cases = client.get("/api/v1/self-service/cases", headers=bearer(token))
    assert cases.json()["count"] == 1
    # Sign-out ends the session.
    assert client.post("/api/v1/self-service/sign-out", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/self-service/cases", headers=bearer(token)).status_code == 401


def test_unknown_and_wrong_get_the_same_answer(
    client: TestClient, committed_engine: Engine
) -> None:
    victim, pin = _victim(committed_engine)
    wrong = client.post(SIGN_IN, json={"victim_id": victim.victim_code, "pin": "00000000"})
    unknown = client.post(SIGN_IN, json={"victim_id": "V-ZZZZ-ZZZZ", "pin": pin})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["content-type"] == "application/problem+json"


def test_a_thousand_wrong_pins_lock_the_victim_id_and_never_return_a_case(
    client: TestClient, committed_engine: Engine, app_settings: Settings
) -> None:
    victim, pin = _victim(committed_engine)
    assert victim.victim_code is not None
    for attempt in range(1000):
        guess = f"{attempt:08d}" if f"{attempt:08d}" != pin else "x"
        # From many addresses, so that only the per-identity lockout can stop this. The
        # refusal is caught inside the transaction: the route commits the failure count too.
        with (
            transaction(committed_engine) as session,
            pytest.raises(victim_signin.SignInRefused) as refused,
        ):
            victim_signin.sign_in_with_pin(
                session=session,
                victim_code=victim.victim_code,
                pin=guess,
                address=f"198.51.100.{attempt % 250}",
                settings=app_settings,
            )
        assert refused.value.reason == "credentials"
    # Locked: the right PIN is refused too, through the API, and no session ever existed.
    locked = client.post(SIGN_IN, json={"victim_id": victim.victim_code, "pin": pin})
    assert locked.status_code == 401
    assert "data" not in locked.json()
    with Session(committed_engine) as session:
        assert session.exec(select(VictimSession)).all() == []


def test_an_unknown_victim_id_locks_exactly_like_a_real_one(
    client: TestClient, app_settings: Settings, committed_engine: Engine
) -> None:
    victim, pin = _victim(committed_engine)
    answers = {}
    for code in (victim.victim_code, "V-ZZZZ-ZZZZ"):
        for _ in range(app_settings.victim_max_failures):
            client.post(SIGN_IN, json={"victim_id": code, "pin": "00000000"})
        answers[code] = client.post(SIGN_IN, json={"victim_id": code, "pin": pin}).json()
    assert answers[victim.victim_code] == answers["V-ZZZZ-ZZZZ"]


def test_too_many_failures_from_one_address_are_refused(
    committed_engine: Engine, app_settings: Settings
) -> None:
    strict = app_settings.model_copy(update={"address_max_failures": 3})
    with TestClient(create_app(strict, engine=committed_engine)) as client:
        for n in range(3):
            answer = client.post(SIGN_IN, json={"victim_id": f"V-0000-000{n}", "pin": "1"})
            assert answer.status_code == 401
        throttled = client.post(SIGN_IN, json={"victim_id": "V-0000-0009", "pin": "1"})
        assert throttled.status_code == 429
        assert throttled.headers["retry-after"]


def test_one_time_sign_in_link(client: TestClient, committed_engine: Engine) -> None:
    victim, _ = _victim(committed_engine)
    sender = client.app.state.sign_in_email  # type: ignore[attr-defined]
    assert isinstance(sender, MemoryEmailSender)
    unknown = client.post("/api/v1/self-service/sign-in-link", json={"victim_id": "V-ZZZZ-ZZZZ"})
    known = client.post("/api/v1/self-service/sign-in-link", json={"victim_id": victim.victim_code})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    assert len(sender.outbox) == 1  # only the real, verified address gets mail
    (message,) = sender.outbox.values()
    assert message.to == victim.email
    link = re.search(r"https?://\S+/self-service/sign-in-link\?token=(\S+)", message.text)
    assert link is not None
    token = link.group(1)

    # Opening the link spends nothing (mail scanners follow links); the button does.
    page = client.get(f"/self-service/sign-in-link?token={token}")
    assert page.status_code == 200
    assert 'method="post"' in page.text
    redeemed = client.post("/api/v1/self-service/sign-in-link/redeem", json={"token": token})
    assert redeemed.status_code == 200
    session_token = redeemed.json()["access_token"]
    assert client.get("/api/v1/self-service/cases", headers=bearer(session_token)).is_success
    again = client.post("/api/v1/self-service/sign-in-link/redeem", json={"token": token})
    assert again.status_code == 401  # one time only


def test_link_page_shows_the_victims_cases_once(
    client: TestClient, committed_engine: Engine
) -> None:
    victim, _ = _victim(committed_engine)
    client.post("/api/v1/self-service/sign-in-link", json={"victim_id": victim.victim_code})
    (message,) = client.app.state.sign_in_email.outbox.values()  # type: ignore[attr-defined]
    token = message.text.split("token=")[1].split()[0]
    shown = use_sign_in_link(client, token)
    assert shown.status_code == 200
    assert "Example Processing Center" in shown.text
    assert use_sign_in_link(client, token).status_code == 401


def test_expired_sessions_and_deactivated_victims_are_refused(
    client: TestClient, committed_engine: Engine, app_settings: Settings
) -> None:
    victim, _ = _victim(committed_engine)
    with transaction(committed_engine) as session:
        row = session.get_one(Victim, victim.id)
        issued = victim_signin.create_session(session=session, victim=row, settings=app_settings)
        expired = victim_signin.create_session(session=session, victim=row, settings=app_settings)
        for signed_in in session.exec(select(VictimSession)).all():
            if signed_in.token_hash != credentials.hash_token(issued.token):
                signed_in.expires_at = utcnow() - timedelta(seconds=1)
    assert client.get("/api/v1/self-service/cases", headers=bearer(issued.token)).is_success
    assert (
        client.get("/api/v1/self-service/cases", headers=bearer(expired.token)).status_code == 401
    )
    with transaction(committed_engine) as session:
        session.get_one(Victim, victim.id).active = False
    assert client.get("/api/v1/self-service/cases", headers=bearer(issued.token)).status_code == 401
