"""The acceptance property: for random events with random markings and flags, no value of a
withheld field appears anywhere in a victim's or partner's output.

Which fields must be withheld comes from tests/disclosure/oracle.py (the issue's rules written
out by hand), not from the filter. Three outputs are checked: the self-service API body, the
rendered notification (email and SMS) and ``voice policy explain``.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests import identity
from tests.databases import DatabaseFactory
from tests.disclosure.oracle import releasable
from voice import cli, migrate
from voice.app import create_app
from voice.cases.fields import IMPLIED_CUSTODY, markings_for
from voice.cases.models import Case
from voice.config import Environment, Settings
from voice.database import make_engine, transaction, utcnow
from voice.disclosure.audiences import OUTWARD, Audience
from voice.disclosure.compiler import CUSTODY_STATES, MARKING_ORDER
from voice.disclosure.filter import disclose
from voice.disclosure.markings import MarkingClass, classify
from voice.disclosure.policy import Policy, cached_policy, default_policy_path
from voice.disclosure.records import payload_record
from voice.ingest.service import ingest_event
from voice.notify.models import Channel
from voice.notify.render import render_notice
from voice.victims import service as victim_service
from voice.webhooks import catalogue

_serial = itertools.count(1)
# Loaded now, not inside a test: cel-python raises the recursion limit when it first parses,
# and hypothesis warns about that happening mid-test.
cached_policy(default_policy_path())
EVENT_TYPES = [
    "custody.booked",
    "custody.transferred",
    "custody.released",
    "case.hearing_scheduled",
    "case.removal_ordered",
    "removal.scheduled",
    "removal.completed",
]
TEXT_SUBJECT = [
    "first_name",
    "middle_name",
    "last_name",
    "country_of_birth",
    "country_of_citizenship",
]
TEXT_CASE = [
    "facility_name",
    "facility_city",
    "facility_state",
    "immigration_status",
    "release_address",
    "hearing_court",
    "removal_port",
    "removed_to_country",
    "transport_details",
    "officer_name",
    "informant_reference",
]
# Markings of every class but classified (spillage never reaches an output at all; see
# test_spillage.py), in several spellings.
UNCONTROLLED = ["(U)", "UNCLASSIFIED", "u", " (unclassified) "]
CONTROLLED = [
    "(U//FOUO)",
    "UNCLASSIFIED//LES",
    "LAW ENFORCEMENT SENSITIVE",
    "SBU",
    "CUI",
    "(CUI//SP-PRVCY)",
    "CUI//SP-INV/LEI//NOFORN",
    "CUI//REL TO USA, FVEY",
    "U//U",
    "(U//LES",
    "BANANA",
    "",
]
# Half the markings and a third of the values' portion marks say "uncontrolled", so that harm
# rules, not markings, are what stands between many fields and the output.
MARKINGS = st.one_of(st.sampled_from(UNCONTROLLED), st.sampled_from(CONTROLLED))
PREFIXES = st.one_of(
    st.just(""), st.just("(U) "), st.sampled_from(["(U//LES) ", "(CUI) ", "(FOUO) ", "(X) "])
)
RARE_FLAG = st.sampled_from([False, False, False, False, True])
POINTERS_ROOT = ["", "/case", "/subject"]


def token() -> str:
    # Unique, unlike any word, date or code that outputs hold for other reasons.
    return f"zq{next(_serial)}x{uuid.uuid4().hex[:8]}"


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    serial = next(_serial)
    subject: dict[str, Any] = {"subject_id": f"S-P{serial:07d}"}
    case: dict[str, Any] = {"case_number": f"CASE-P-{serial:07d}"}
    for name in draw(st.lists(st.sampled_from(TEXT_SUBJECT), unique=True)):
        subject[name] = draw(PREFIXES) + token()
    for name in draw(st.lists(st.sampled_from(TEXT_CASE), unique=True)):
        case[name] = draw(PREFIXES) + token()
    if draw(st.booleans()):
        subject["a_number"] = f"A{draw(st.integers(100_000_000, 999_999_999))}"
    if draw(st.booleans()):
        subject["date_of_birth"] = (
            f"19{draw(st.integers(50, 99))}-0{draw(st.integers(1, 9))}-1{draw(st.integers(0, 9))}"
        )
    if draw(st.booleans()):
        subject["aliases"] = [token()]
    if draw(st.booleans()):
        case["related_persons"] = [{"role": "witness", "name": token(), "contact": token()}]
    if draw(st.booleans()):
        case["custody_status"] = draw(st.sampled_from(["in_custody", "released", "removed"]))
    subject["flags"] = {"minor": draw(RARE_FLAG), "protected_1367": draw(RARE_FLAG)}
    pointers = [f"/subject/{n}" for n in subject if n not in ("subject_id", "flags")]
    pointers += [f"/case/{n}" for n in case if n != "case_number"] + ["/notes", "/event_type"]
    marked = draw(st.lists(st.sampled_from(pointers + POINTERS_ROOT), unique=True, max_size=4))
    event: dict[str, Any] = {
        "source": "prop",
        "source_event_id": f"p-{serial}-{uuid.uuid4().hex[:6]}",
        "occurred_at": "2026-11-02T09:15:00Z",
        "event_type": draw(st.sampled_from(EVENT_TYPES)),
        "subject": subject,
        "case": case,
        "notes": draw(PREFIXES) + token(),
        "markings": {p: draw(MARKINGS) for p in marked},
    }
    return event


def _marking_class(
    policy: Policy, field: str, pointer: str, value: Any, event: dict[str, Any]
) -> MarkingClass:
    found = [classify(m) for m in markings_for(pointer, event["markings"])]
    texts = (
        [value]
        if isinstance(value, str)
        else [v for item in value for v in (item.values() if isinstance(item, dict) else [item])]
    )
    for text in texts:
        if text.startswith("("):
            found.append(classify(text.split(" ", 1)[0]))
    if not found:
        return policy.catalogue.fields[field].default_class
    return max(found, key=MARKING_ORDER.index)


def withheld_tokens(
    policy: Policy, event: dict[str, Any], audience: Audience, *, case_view: bool
) -> tuple[set[str], set[str]]:
    """(values the issue says must be withheld, values it says may be released)."""
    flags = event["subject"]["flags"]
    custody_status = event["case"].get("custody_status", IMPLIED_CUSTODY.get(event["event_type"]))
    custody = custody_status if custody_status in CUSTODY_STATES else "other"
    must_not: set[str] = set()
    may: set[str] = set()
    items: list[tuple[str, str, Any]] = [
        (f"subject.{n}", f"/subject/{n}", v)
        for n, v in event["subject"].items()
        if n not in ("subject_id", "flags")
    ]
    items += [
        (f"case.{n}", f"/case/{n}", v) for n, v in event["case"].items() if n != "case_number"
    ]
    if not case_view:
        items.append(("event.notes", "/notes", event["notes"]))
    else:
        must_not.add(event["notes"])  # notes are never part of a case view
    for field, pointer, value in items:
        ok = releasable(
            audience=audience,
            field_class=policy.catalogue.fields[field].field_class,
            marking=_marking_class(policy, field, pointer, value, event),
            minor=flags["minor"],
            protected_1367=flags["protected_1367"],
            removal_scheduled=event["event_type"] == "removal.scheduled" and not case_view,
            custody=custody,
        )
        values = {value} if isinstance(value, str) else set(json.dumps(value).split('"'))
        values = {v for v in values if v.startswith("zq") or v[:1] in "(A1"}
        values = {v for v in values if len(v) > 5}
        (may if ok else must_not).update(values)
    return must_not, may


def assert_absent(text: str, values: set[str], where: str) -> None:
    for value in values:
        core = value.split(" ", 1)[-1] if value.startswith("(") else value
        assert core not in text, f"{where}: withheld value {core!r} appeared"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(event=events())
def test_no_withheld_value_in_explain_or_notices(
    event: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = cached_policy(default_policy_path())
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    for audience in sorted(OUTWARD):
        must_not, may = withheld_tokens(policy, event, audience, case_view=False)
        assert cli.main(["policy", "explain", "--audience", audience.value, str(path)]) == 0
        out = capsys.readouterr().out
        assert_absent(out, must_not, f"explain for {audience}")
        for value in may:  # the positive side: what may be released is released
            assert value in out, f"explain for {audience} lost {value!r}"

        view = disclose(payload_record(event), audience=audience, policy=policy)
        if audience is Audience.PARTNER:
            # A partner's webhook body is shaped from this same view (voice.webhooks.outgoing).
            body = catalogue.payload_from_view(
                event_type=event["event_type"], case_id=1, view=view, emitted_at=utcnow()
            )
            if body is not None:
                text = json.dumps(body, ensure_ascii=False)
                assert_absent(text, must_not, "webhook body")
                assert_absent(text, {event["notes"]}, "webhook body")
        if audience is Audience.VICTIM_VERIFIED and "event.event_type" in view.released:
            for channel in (Channel.EMAIL, Channel.SMS):
                for language in ("en", "es"):
                    notice = render_notice(
                        view=view, channel=channel, language=language, office_contact="VOICE office"
                    )
                    assert_absent(notice.subject + notice.body, must_not, f"{channel} notice")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Engine]]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("prop"))
    url = factory.new_url("sqlite")
    migrate.upgrade(url)
    engine = make_engine(url)
    settings_ = Settings(environment=Environment.TEST, database_url=url)
    with TestClient(create_app(settings_, engine=engine)) as client:
        yield client, engine
    engine.dispose()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(event=events())
def test_no_withheld_value_in_the_self_service_api(
    event: dict[str, Any], api: tuple[TestClient, Engine]
) -> None:
    client, engine = api
    policy = cached_policy(default_policy_path())
    with transaction(engine) as session:
        ingest_event(session=session, candidate=event, policy=policy)
        case = session.exec(
            select(Case).where(Case.case_number == event["case"]["case_number"])
        ).one()
        credentials = {}
        for verified in (True, False):
            victim, pin = victim_service.register_victim(
                session=session, first_name="Vera", last_name="Victim"
            )
            victim_service.link_victim(session=session, victim=victim, case=case, verified=verified)
            credentials[verified] = (victim.victim_code, pin)
    for verified, audience in ((True, Audience.VICTIM_VERIFIED), (False, Audience.VICTIM_PENDING)):
        headers = identity.victim_sign_in(client, *credentials[verified])
        response = client.get("/api/v1/self-service/cases", headers=headers)
        assert response.status_code == 200
        must_not, _ = withheld_tokens(policy, event, audience, case_view=True)
        assert_absent(response.text, must_not, f"self-service for {audience}")
        assert "withheld" not in response.text
        assert "harm." not in response.text
        assert "marking." not in response.text
