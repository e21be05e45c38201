"""The portal's inquiry tools: logging a phone call, the referral directory, answer templates,
the work queue's inquiries that are overdue or due soon, and ``/portal/`` as the home page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tests.identity import staff_session
from tests.portal.ops_helpers import case_with_registrant, sign_in
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.inquiries import intake, service
from voice.inquiries.answers import CASE_PLACEHOLDERS, OTHER_PLACEHOLDERS
from voice.inquiries.models import (
    AnswerTemplate,
    Category,
    Inquiry,
    InquiryEntry,
    ReferralProvider,
)
from voice.liaison.models import LiaisonTask, TaskKind
from voice.portal import answer_templates
from voice.victims.access_log import access_log
from voice.victims.models import VictimCaseLink


def _inquiry_from(location: str) -> int:
    found = re.fullmatch(r"/portal/inquiries/(\d+)\?done=call-logged", location)
    assert found, location
    return int(found.group(1))


def _victim_of(engine: Engine, link_id: int) -> int:
    with transaction(engine) as session:
        return session.get_one(VictimCaseLink, link_id).victim_id


def _section(page: str, heading_id: str) -> str:
    """The HTML of one ``<section>`` of a page, found by its heading's id."""
    start = page.index(f'id="{heading_id}"')
    return page[start : page.index("</section>", start)]


def test_a_call_from_a_registrant_is_logged_from_their_page(
    client: TestClient, committed_engine: Engine
) -> None:
    case_id, link_id = case_with_registrant(client, committed_engine)
    victim_id = _victim_of(committed_engine, link_id)
    csrf = sign_in(client, "liaison", "liaison-1")
    registrant = client.get(f"/portal/registrants/{victim_id}").text
    assert f'href="/portal/inquiries/calls/new?victim_id={victim_id}"' in registrant

    form = client.get(f"/portal/inquiries/calls/new?victim_id={victim_id}")
    assert form.status_code == 200
    assert "Vera Victim" in form.text
    assert f'<option value="{case_id}">CASE-T-0001</option>' in form.text
    assert 'name="caller_phone"' not in form.text  # a known registrant gives no number
    logged = client.post(
        "/portal/inquiries/calls",
        data={
            "victim_id": str(victim_id),
            "case_id": str(case_id),
            "category": "hearing",
            "summary": "Asked when the next hearing is.",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert logged.status_code == 303, logged.text
    inquiry_id = _inquiry_from(logged.headers["location"])
    thread = client.get(logged.headers["location"]).text
    assert "The call is logged" in thread
    assert "Call logged by liaison-1" in thread
    with transaction(committed_engine) as session:
        inquiry = session.get_one(Inquiry, inquiry_id)
        assert (inquiry.channel, inquiry.category, inquiry.priority) == ("phone", "hearing", "high")
        assert (inquiry.victim_id, inquiry.case_id, inquiry.sender_address) == (
            victim_id,
            case_id,
            None,
        )
        # Showing the registrant's name on the form is recorded like opening their page.
        purposes = [row.purpose for row in access_log(session=session, victim_id=victim_id)]
        assert purposes.count("view") >= 3
    inbox = client.get("/portal/inquiries").text
    assert f'href="/portal/inquiries/{inquiry_id}"' in inbox
    assert 'href="/portal/inquiries/calls/new"' in inbox


def test_a_caller_who_is_not_registered_gives_a_name_and_a_number(
    client: TestClient, committed_engine: Engine
) -> None:
    csrf = sign_in(client, "liaison", "liaison-1")
    searched = client.get("/portal/inquiries/calls/new", params={"q": "Nobody Atall"})
    assert "No registrant matches" in searched.text
    data = {
        "caller_name": "Jane Roe",
        "caller_phone": "12",
        "category": "",
        "summary": "Wants to know if her neighbour was deported.",
        "language": "es",
        "csrf_token": csrf,
    }
    refused = client.post("/portal/inquiries/calls", data=data)
    assert refused.status_code == 422
    assert "not a valid phone number" in refused.text
    assert "Choose what the call was about." in refused.text
    assert 'value="Jane Roe"' in refused.text  # what was typed stays in the form
    with transaction(committed_engine) as session:
        assert session.exec(select(Inquiry)).first() is None

    data.update(caller_phone="(202) 555-0143", category="removal")
    logged = client.post("/portal/inquiries/calls", data=data, follow_redirects=False)
    assert logged.status_code == 303, logged.text
    with transaction(committed_engine) as session:
        inquiry = session.get_one(Inquiry, _inquiry_from(logged.headers["location"]))
        assert (inquiry.victim_id, inquiry.case_id) == (None, None)
        assert (inquiry.sender_address, inquiry.language) == ("+12025550143", "es")
        [entry] = session.exec(
            select(InquiryEntry).where(InquiryEntry.inquiry_id == inquiry.id)
        ).all()
        assert entry.body == "Caller Jane Roe: Wants to know if her neighbour was deported."
        assert entry.author == "liaison-1"


def test_the_call_form_is_for_the_liaison_desk(client: TestClient) -> None:
    sign_in(client, "auditor", "auditor-1")
    refused = client.get("/portal/inquiries/calls/new")
    assert refused.status_code == 403
    assert "You cannot open this page" in refused.text
    home = client.get("/portal").text
    assert "Log a phone call" not in home


def test_the_referral_directory_is_kept_by_the_liaison_desk(
    client: TestClient, committed_engine: Engine
) -> None:
    csrf = sign_in(client, "liaison", "liaison-1")
    assert "The directory is empty." in client.get("/portal/inquiries/directory").text
    form = {
        "name": "Harbor Victim Services",
        "phone": "800 555 0199",
        "languages": "en, xx-long",
        "area_served": "Miami-Dade County, FL",
        "active": "yes",
        "csrf_token": csrf,
    }
    refused = client.post("/portal/inquiries/directory", data=form)
    assert refused.status_code == 422
    assert "Enter language codes" in refused.text
    form["languages"] = "en, ES"
    added = client.post("/portal/inquiries/directory", data=form, follow_redirects=False)
    assert (added.status_code, added.headers["location"]) == (
        303,
        "/portal/inquiries/directory?done=added",
    )
    listing = client.get(added.headers["location"]).text
    assert "The provider is in the directory." in listing
    with transaction(committed_engine) as session:
        provider = session.exec(select(ReferralProvider)).one()
        assert (provider.languages, provider.updated_by) == (["en", "es"], "liaison-1")
        assert provider.phone == "+1 800-555-0199"
    assert f'href="/portal/inquiries/directory/{provider.id}"' in listing

    edit = client.get(f"/portal/inquiries/directory/{provider.id}")
    assert 'value="Harbor Victim Services"' in edit.text
    saved = client.post(
        f"/portal/inquiries/directory/{provider.id}",
        data={**form, "name": "Harbor Services", "active": ""},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "withdrawn" in client.get("/portal/inquiries/directory").text
    with transaction(committed_engine) as session:
        provider = session.get_one(ReferralProvider, provider.id)
        assert (provider.name, provider.active) == ("Harbor Services", False)
    assert client.get("/portal/inquiries/directory/999999").status_code == 404

    sign_in(client, "privacy_officer", "privacy-1")
    assert client.get("/portal/inquiries/directory").status_code == 403


def test_answer_templates_are_written_by_supervisors(
    client: TestClient, committed_engine: Engine
) -> None:
    sign_in(client, "liaison", "liaison-1")
    assert client.get("/portal/inquiries/templates").status_code == 403
    assert "Answer templates" not in client.get("/portal/inquiries").text

    csrf = sign_in(client, "supervisor", "supervisor-1")
    form = client.get("/portal/inquiries/templates/new").text
    for placeholder in ("{custody_status}", "{hearing_date}", "{referral_phone}"):
        assert placeholder in form
    data = {
        "key": "services",
        "language": "es",
        "title": "Servicios locales",
        "body": "Llame a {referral_name} al {referral_phone}. {mood}",
        "active": "yes",
        "csrf_token": csrf,
    }
    refused = client.post("/portal/inquiries/templates", data=data)
    assert refused.status_code == 422
    assert "Unknown placeholders: mood." in refused.text
    data["body"] = "Llame a {referral_name} al {referral_phone}."
    added = client.post("/portal/inquiries/templates", data=data, follow_redirects=False)
    assert added.headers["location"] == "/portal/inquiries/templates?done=added"
    again = client.post("/portal/inquiries/templates", data=data)
    assert again.status_code == 422
    assert "exists already" in again.text
    with transaction(committed_engine) as session:
        template = session.exec(select(AnswerTemplate)).one()
        assert (template.key, template.language, template.updated_by) == (
            "services",
            "es",
            "supervisor-1",
        )
    assert "Servicios locales" in client.get("/portal/inquiries/templates").text

    saved = client.post(
        f"/portal/inquiries/templates/{template.id}",
        # The key and language are the template's identity: a form cannot change them.
        data={**data, "key": "other", "title": "Servicios", "active": ""},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with transaction(committed_engine) as session:
        template = session.get_one(AnswerTemplate, template.id)
        assert (template.key, template.title, template.active) == ("services", "Servicios", False)


def test_the_portal_address_with_a_trailing_slash_is_the_home_page(client: TestClient) -> None:
    moved = client.get("/portal/?done=claimed", follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (308, "/portal?done=claimed")
    sign_in(client, "liaison", "liaison-1")
    home = client.get("/portal/")
    assert home.status_code == 200
    assert "Work queue" in home.text


def test_the_work_queue_shows_inquiries_past_or_near_their_targets(
    client: TestClient, committed_engine: Engine, settings: Settings
) -> None:
    now = utcnow()
    with transaction(committed_engine) as session:

        def call(category: Category, *, at: timedelta, assignee: str | None = None) -> int:
            inquiry = intake.log_call(
                session=session,
                settings=settings,
                staff="liaison-1",
                summary="A call.",
                category=category,
                caller_phone="+12025550143",
                now=now - at,
            )
            if assignee is not None:
                service.assign(session=session, inquiry=inquiry, assignee=assignee, now=now)
            assert inquiry.id is not None
            return inquiry.id

        # A month old: past any target. Just in: a safety concern is due within the hour of
        # business time; a status question has a business day.
        mine_late = call(Category.CASE_STATUS, at=timedelta(days=30), assignee="liaison-1")
        theirs_late = call(Category.HEARING, at=timedelta(days=30), assignee="liaison-2")
        urgent = call(Category.SAFETY_CONCERN, at=timedelta(0))
        not_yet = call(Category.CASE_STATUS, at=timedelta(0))
        closed = call(Category.REMOVAL, at=timedelta(days=30))
        service.close(session=session, inquiry=session.get_one(Inquiry, closed), now=now)

    def links(section: str) -> list[int]:
        return [int(i) for i in re.findall(r'href="/portal/inquiries/(\d+)"', section)]

    sign_in(client, "liaison", "liaison-1")
    page = client.get("/portal").text
    assert links(_section(page, "my-inquiries-heading")) == [mine_late]
    assert links(_section(page, "unassigned-inquiries-heading")) == [urgent]
    assert "overdue-inquiries-heading" not in page  # the supervisors' list
    assert "Overdue" in _section(page, "my-inquiries-heading")

    sign_in(client, "supervisor", "supervisor-1")
    page = client.get("/portal").text
    overdue = _section(page, "overdue-inquiries-heading")
    assert sorted(links(overdue)) == sorted([mine_late, theirs_late])
    assert "liaison-2" in overdue
    assert not_yet not in links(page)
    # The inbox filters the same way.
    inbox = client.get("/portal/inquiries", params={"overdue": "true"}).text
    assert sorted(set(links(inbox))) == sorted([mine_late, theirs_late])

    sign_in(client, "auditor", "auditor-1")
    assert "my-inquiries-heading" not in client.get("/portal").text


def test_a_safety_concern_logged_by_phone_alerts_the_liaison_on_duty(
    client: TestClient, committed_engine: Engine
) -> None:
    csrf = sign_in(client, "liaison", "liaison-1")
    logged = client.post(
        "/portal/inquiries/calls",
        data={"category": "safety_concern", "summary": "He is outside.", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert logged.status_code == 303
    with transaction(committed_engine) as session:
        kinds = session.exec(select(LiaisonTask.kind).order_by(col(LiaisonTask.id))).all()
    assert kinds == [TaskKind.INQUIRY_SAFETY_CONCERN]


def test_every_placeholder_is_explained_on_the_template_form() -> None:
    assert set(answer_templates.MEANINGS) == {*CASE_PLACEHOLDERS, *OTHER_PLACEHOLDERS}


def test_the_api_lets_only_supervisors_write_templates_as_the_portal_does(
    client: TestClient,
) -> None:
    body = {"key": "thanks", "language": "en", "title": "Thanks", "body": "Thank you."}
    liaison = staff_session(client, "liaison", sub="liaison-1")
    assert client.post("/api/v1/inquiries/templates", json=body, headers=liaison).status_code == 403
    supervisor = staff_session(client, "supervisor", sub="supervisor-1")
    saved = client.post("/api/v1/inquiries/templates", json=body, headers=supervisor)
    assert saved.status_code == 200, saved.text
    assert client.get("/api/v1/inquiries/templates").status_code == 200


def test_the_inbox_page_links_keep_its_filters(
    client: TestClient,
    committed_engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from voice.portal import inquiries as inbox_page

    monkeypatch.setattr(inbox_page, "PAGE_SIZE", 2)
    with transaction(committed_engine) as session:
        for category in (Category.HEARING, Category.HEARING, Category.HEARING, Category.REMOVAL):
            intake.log_call(
                session=session,
                settings=settings,
                staff="liaison-1",
                summary="A call.",
                category=category,
                caller_phone="+12025550143",
                now=utcnow(),
            )
    sign_in(client, "liaison", "liaison-1")
    first = client.get("/portal/inquiries", params={"category": "hearing"})
    assert 'href="?category=hearing&amp;page=2"' in first.text
    second = client.get("/portal/inquiries", params={"category": "hearing", "page": "2"})
    # The second page of the hearing inquiries: the third one, and no removal inquiry.
    assert len(set(re.findall(r'href="/portal/inquiries/(\d+)"', second.text))) == 1
    assert 'href="?category=hearing&amp;page=1"' in second.text
