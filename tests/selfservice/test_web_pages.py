"""The victims' pages: sign-in, cases in plain words, notices, preferences, questions."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests import factories
from tests.identity import INGEST
from tests.selfservice.conftest import Clock
from tests.selfservice.web_helpers import post_form, sign_in
from voice.audit.models import DisclosureRecord
from voice.database import transaction
from voice.victims.models import Language, Victim, VictimCaseLink


def test_a_victim_signs_in_and_reads_their_case_in_plain_words(
    web: TestClient, committed_engine: Engine
) -> None:
    web.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with transaction(committed_engine) as session:
        victim, _, pin = factories.victim_with_link(session, factories.case_of(session))
    signed_in = sign_in(web, victim.victim_code, pin)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/self-service/cases"
    cookie = signed_in.cookies.get("voice_victim")
    assert cookie is not None
    assert cookie.startswith("vss_")  # the opaque session token, nothing else

    page = web.get("/self-service/cases")
    assert page.status_code == 200
    assert '<html lang="en"' in page.text
    assert "Case of Ramon Example" in page.text
    assert "In ICE custody at Example Processing Center since" in page.text
    assert "What usually happens next" in page.text
    assert "Taken into ICE custody." in page.text
    # No codes, no stored values as they are stored.
    for raw in ("in_custody", "custody.booked", "initiated", "T0", "+00:00", "A200100101"):
        assert raw not in page.text
    with Session(committed_engine) as session:
        channels = session.exec(select(DisclosureRecord.channel)).all()
    # The case read and its history's event, each accounted for to the victim.
    assert sorted(set(channels)) == ["web"]
    assert len(channels) == 2


def test_an_idle_session_ends(web: TestClient, committed_engine: Engine, clock: Clock) -> None:
    web.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with transaction(committed_engine) as session:
        victim, _, pin = factories.victim_with_link(session, factories.case_of(session))
    sign_in(web, victim.victim_code, pin)
    assert web.get("/self-service/cases").status_code == 200
    clock.advance(minutes=14)
    assert web.get("/self-service/notices").status_code == 200  # activity keeps it alive
    clock.advance(minutes=16)
    idle = web.get("/self-service/cases", follow_redirects=False)
    assert idle.status_code == 303
    assert idle.headers["location"] == "/self-service/sign-in?timeout=1"
    assert "not used for a while" in web.get(idle.headers["location"]).text


def test_a_wrong_pin_reads_the_same_for_an_unknown_victim_id(
    web: TestClient, committed_engine: Engine
) -> None:
    web.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with transaction(committed_engine) as session:
        victim, _, _ = factories.victim_with_link(session, factories.case_of(session))
    known = sign_in(web, victim.victim_code, "00000000")
    unknown = sign_in(web, "V-ZZZZ-ZZZZ", "00000000")
    assert known.status_code == unknown.status_code == 401

    def body(text: str) -> str:
        start = text.index('<main id="main-content"')
        return text[start:].replace(text[start:].split('name="csrf_token" value="')[1][:32], "")

    assert body(known.text) == body(unknown.text)
    assert "sign-in pauses for a few minutes" in known.text


def test_pages_need_a_session_and_sign_out_ends_it(
    web: TestClient, committed_engine: Engine
) -> None:
    web.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with transaction(committed_engine) as session:
        victim, _, pin = factories.victim_with_link(session, factories.case_of(session))
    for path in ("/self-service/cases", "/self-service/notices", "/self-service/preferences"):
        anonymous = web.get(path, follow_redirects=False)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/self-service/sign-in")
    sign_in(web, victim.victim_code, pin)
    token = web.cookies.get("voice_victim")
    assert web.get("/self-service/cases").status_code == 200
    out = post_form(web, "/self-service/cases", "/self-service/sign-out", {})
    assert out.status_code == 303
    # The old cookie, replayed, is worth nothing: the session ended on the server.
    web.cookies.set("voice_victim", token or "", path="/self-service")
    again = web.get("/self-service/cases", follow_redirects=False)
    assert again.status_code == 303


def test_a_spanish_speaker_reads_spanish_with_dates_in_their_time_zone(
    web: TestClient, committed_engine: Engine
) -> None:
    web.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with transaction(committed_engine) as session:
        victim, _, pin = factories.victim_with_link(
            session, factories.case_of(session), language=Language.SPANISH
        )
    sign_in(web, victim.victim_code, pin)
    for path in ("/self-service/cases", "/self-service/notices", "/self-service/preferences"):
        page = web.get(path)
        assert '<html lang="es"' in page.text, path
        assert "Salir" in page.text
        assert "Sign out" not in page.text
    cases = web.get("/self-service/cases").text
    assert "Bajo custodia de ICE en Example Processing Center desde el" in cases
    assert " de 20" in cases  # "3 de noviembre de 2026"
    # French is not offered until its catalogue is complete: the page stays in Spanish.
    assert '<html lang="es"' in web.get("/self-service/cases?lang=fr").text
    english = web.get("/self-service/cases?lang=en").text
    assert '<html lang="en"' in english
    assert "Sign out" in english


def test_preferences_stop_one_case_and_set_quiet_hours(
    web: TestClient, committed_engine: Engine
) -> None:
    web.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with transaction(committed_engine) as session:
        case = factories.case_of(session)
        victim, link, pin = factories.victim_with_link(session, case)
    sign_in(web, victim.victim_code, pin)
    stop = post_form(
        web, "/self-service/preferences", f"/self-service/preferences/cases/{case.id}", {}
    )
    assert stop.status_code == 303
    saved = post_form(
        web,
        "/self-service/preferences",
        "/self-service/preferences",
        {
            "language": "es",
            "time_zone": "America/Chicago",
            "quiet_start": "21",
            "quiet_end": "7",
        },
    )
    assert saved.status_code == 303
    with Session(committed_engine) as session:
        stored = session.get_one(Victim, victim.id)
        stopped = session.get_one(VictimCaseLink, link.id)
    assert (stored.preferred_language, stored.time_zone) == ("es", "America/Chicago")
    assert (stored.quiet_start_hour, stored.quiet_end_hour) == (21, 7)
    assert not stopped.notify_email
    assert not stopped.notify_sms
    restart = post_form(
        web,
        "/self-service/preferences",
        f"/self-service/preferences/cases/{case.id}",
        {"email": "on"},
    )
    assert restart.status_code == 303
    with Session(committed_engine) as session:
        assert session.get_one(VictimCaseLink, link.id).notify_email
