"""The lookup's disclosed views are computed once per state of what they depend on: every change
to a case, a subject, a hold, a link or the policy shows in the very next answer, and the
answer's bytes are what the route answered before it kept views."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests import factories
from tests.identity import INGEST, victim_sign_in
from voice.app import create_app
from voice.audit.models import DisclosureRecord
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure import filter as disclosure_filter
from voice.disclosure.policy import Policy, default_policy_path, load_policy
from voice.holds import service as holds
from voice.selfservice import service
from voice.selfservice.api import LinkedCasePublic, LinkedCasesPublic
from voice.victims import service as victim_service
from voice.victims.models import VerificationStatus, VictimCaseLink

CASES = "/api/v1/self-service/cases"


@pytest.fixture
def app(committed_engine: Engine, settings: Settings) -> FastAPI:
    return create_app(settings, engine=committed_engine)


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def signed_in(api: TestClient, committed_engine: Engine) -> dict[str, str]:
    api.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with transaction(committed_engine) as session:
        victim, _, pin = factories.victim_with_link(session, factories.case_of(session))
    return victim_sign_in(api, victim.victim_code, pin)


def _link(session: Session) -> VictimCaseLink:
    return session.exec(select(VictimCaseLink)).one()


def _case(body: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = body["data"][0]
    return found


def test_a_repeated_lookup_reuses_its_view_and_answers_the_same(
    api: TestClient, signed_in: dict[str, str]
) -> None:
    first = api.get(CASES, headers=signed_in)
    computed = service.VIEWS.computed
    again = api.get(CASES, headers=signed_in)
    assert again.content == first.content
    assert service.VIEWS.computed == computed


def test_a_case_change_shows_in_the_next_answer(api: TestClient, signed_in: dict[str, str]) -> None:
    assert _case(api.get(CASES, headers=signed_in).json())["case"]["facility_name"] == (
        "Example Processing Center"
    )
    moved = factories.event(
        "custody.transferred",
        occurred_at="2026-11-03T09:00:00Z",
        case={"facility_name": "Second Example Center", "facility_city": "Othertown"},
    )
    assert api.post("/api/v1/events", json=moved, headers=INGEST).status_code == 201
    case = _case(api.get(CASES, headers=signed_in).json())["case"]
    assert (case["facility_name"], case["facility_city"]) == ("Second Example Center", "Othertown")


def test_a_subject_change_shows_in_the_next_answer(
    api: TestClient, signed_in: dict[str, str]
) -> None:
    assert _case(api.get(CASES, headers=signed_in).json())["subject"]
    # The subject turns out to be a minor: nothing about them may be shown any more.
    minor = factories.event(
        "case.hearing_scheduled",
        occurred_at="2026-11-03T09:00:00Z",
        subject={"flags": {"minor": True}},
    )
    assert api.post("/api/v1/events", json=minor, headers=INGEST).status_code == 201
    case = _case(api.get(CASES, headers=signed_in).json())
    assert case["subject"] == {}


def test_a_hold_set_and_lifted_shows_in_the_next_answers(
    api: TestClient, signed_in: dict[str, str], committed_engine: Engine, policy: Policy
) -> None:
    before = api.get(CASES, headers=signed_in).content
    with transaction(committed_engine) as session:
        hold = holds.set_hold(
            session=session,
            case_id=factories.case_of(session).id or 0,
            reason="threat reported",
            set_by="supervisor-1",
            expires_at=utcnow() + timedelta(days=1),
        )
    held = _case(api.get(CASES, headers=signed_in).json())
    assert (held["subject"], held["case"], held["message"]) == ({}, {}, policy.neutral_message)
    with transaction(committed_engine) as session:
        holds.lift_hold(session=session, hold_id=hold.id or 0, lifted_by="supervisor-1")
    assert api.get(CASES, headers=signed_in).content == before


def test_a_link_unverified_verified_and_deactivated_shows_in_the_next_answers(
    api: TestClient, signed_in: dict[str, str], committed_engine: Engine
) -> None:
    verified = api.get(CASES, headers=signed_in).content
    with transaction(committed_engine) as session:
        victim_service.update_link(
            session=session,
            link=_link(session),
            changes={"verification_status": VerificationStatus.PENDING},
        )
    pending = _case(api.get(CASES, headers=signed_in).json())
    assert pending["verified"] is False
    assert set(pending["case"]) == {"custody_status", "facility_name"}
    with transaction(committed_engine) as session:
        victim_service.verify_link(session=session, link=_link(session))
    assert api.get(CASES, headers=signed_in).content == verified
    with transaction(committed_engine) as session:
        victim_service.update_link(
            session=session,
            link=_link(session),
            changes={"verification_status": VerificationStatus.REJECTED},
        )
    assert api.get(CASES, headers=signed_in).json() == {"data": [], "count": 0}


def _stricter_policy(tmp_path: Path) -> Policy:
    """The shipped policy, with a new version that also withholds the facility's name."""
    shipped = default_policy_path()
    folder = tmp_path / "policies"
    shutil.copytree(shipped.parent, folder)
    path = folder / shipped.name
    text = path.read_text(encoding="utf-8")
    text = text.replace('version: "', 'version: "stricter-', 1)
    text = text.replace(
        "  - id: harm.safety_hold\n",
        "  - id: test.facility_name\n"
        '    when: audience in victims && field_class == "facility_name"\n'
        "    decision: withhold\n"
        "    basis: a test of a policy change\n"
        "  - id: harm.safety_hold\n",
        1,
    )
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


def test_a_policy_change_shows_in_the_next_answer_and_its_accounting(
    app: FastAPI,
    api: TestClient,
    signed_in: dict[str, str],
    committed_engine: Engine,
    tmp_path: Path,
) -> None:
    assert "facility_name" in _case(api.get(CASES, headers=signed_in).json())["case"]
    stricter = _stricter_policy(tmp_path)
    app.state.policy = stricter
    assert "facility_name" not in _case(api.get(CASES, headers=signed_in).json())["case"]
    with Session(committed_engine) as session:
        newest = session.exec(
            select(DisclosureRecord).order_by(col(DisclosureRecord.id).desc())
        ).first()
    assert newest is not None
    assert (newest.policy_version, newest.policy_sha256) == (stricter.version, stricter.sha256)
    assert "case.facility_name" in {w["field"] for w in newest.fields_withheld}


def test_every_lookup_is_accounted_for_even_when_its_view_is_reused(
    api: TestClient, signed_in: dict[str, str], committed_engine: Engine
) -> None:
    for _ in range(4):
        assert api.get(CASES, headers=signed_in).status_code == 200
    with Session(committed_engine) as session:
        records = session.exec(select(DisclosureRecord)).all()
    assert [(r.channel, r.audience) for r in records] == [("api", "victim_verified")] * 4


def test_a_view_the_filter_could_not_compute_is_answered_but_not_kept(
    monkeypatch: pytest.MonkeyPatch, committed_engine: Engine, policy: Policy
) -> None:
    assert service._FAIL_CLOSED == disclosure_filter.FAIL_CLOSED
    with transaction(committed_engine) as session:
        factories_case = factories.booking()
        from voice.ingest.service import ingest_event

        ingest_event(session=session, candidate=factories_case, policy=policy)
        victim, _, _ = factories.victim_with_link(session, factories.case_of(session))
    views = service.DisclosedViews()

    def broken(*_args: Any) -> None:
        raise RuntimeError("a fault inside the filter")

    def read() -> service.LinkedCaseView:
        with transaction(committed_engine) as session:
            rows = session.connection().execute(
                service._LINKED, {"victim_id": victim.id, "now": utcnow()}
            )
            return views.of(rows.one(), policy).linked

    monkeypatch.setattr(disclosure_filter, "_decide", broken)
    failed = read()
    assert (failed.disclosed, failed.message) == ({}, policy.neutral_message)
    monkeypatch.undo()
    assert read().disclosed["case"]["facility_name"] == "Example Processing Center"
    assert views.computed == 2


def _as_before(views: list[service.LinkedCaseView]) -> FastAPI:
    """The route as it was: the response model, serialised by FastAPI."""
    before = FastAPI()

    @before.get(CASES)
    async def my_cases() -> LinkedCasesPublic:
        data = [
            LinkedCasePublic(
                case_id=v.case_id,
                relationship=v.relationship,
                verified=v.verified,
                subject=v.disclosed.get("subject", {}),
                case=v.disclosed.get("case", {}),
                message=v.message,
            )
            for v in views
        ]
        return LinkedCasesPublic(data=data, count=len(data))

    return before


def test_the_answer_is_byte_for_byte_what_the_response_model_gave(
    api: TestClient, committed_engine: Engine, policy: Policy
) -> None:
    # Text that JSON encoders are known to differ on: non-ASCII, quotes, backslashes, line and
    # paragraph separators, control characters, and a character outside the BMP.
    awkward = 'Ramón "Ñúñez" \\ / <b> & \u2028\u2029 \u00e9\u0301 \t\x01 \U0001f600'
    api.post(
        "/api/v1/events",
        json=factories.booking(subject_id="S-A", case_number="CASE-A")
        | {"subject": {"subject_id": "S-A", "first_name": awkward, "last_name": "Example"}},
        headers=INGEST,
    )
    api.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with transaction(committed_engine) as session:
        victim, _, pin = factories.victim_with_link(session, factories.case_of(session, "CASE-A"))
        victim_service.link_victim(
            session=session, victim=victim, case=factories.case_of(session), verified=False
        )
    token = victim_sign_in(api, victim.victim_code, pin)
    answer = api.get(CASES, headers=token)
    assert answer.headers["content-type"] == "application/json"
    with transaction(committed_engine) as session:
        views = service.linked_cases(session=session, victim=victim, policy=policy)
    assert [v.verified for v in views] == [True, False]
    assert views[0].disclosed["subject"]["first_name"] == awkward
    with TestClient(_as_before(views)) as before:
        expected = before.get(CASES)
    assert answer.content == expected.content
    assert answer.headers["content-length"] == expected.headers["content-length"]
