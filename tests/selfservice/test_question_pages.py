"""Ask a question and My questions: the web form feeds the inquiry queue, and the victim reads
the answers sent to them."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests import factories
from tests.identity import INGEST
from tests.selfservice.conftest import Clock
from tests.selfservice.web_helpers import post_form, sign_in
from voice.database import transaction
from voice.inquiries.models import Inquiry, InquiryAnswer, InquiryEntry
from voice.liaison.models import LiaisonTask
from voice.messages.gate import MessageStatus
from voice.victims.models import Language

QUESTIONS = "/self-service/questions"


def _signed_in(
    web: TestClient, engine: Engine, language: Language = Language.ENGLISH
) -> tuple[int, int]:
    web.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with transaction(engine) as session:
        case = factories.case_of(session)
        victim, _, pin = factories.victim_with_link(session, case, language=language)
    assert sign_in(web, victim.victim_code, pin).status_code == 303
    assert victim.id is not None
    assert case.id is not None
    return victim.id, case.id


def test_a_question_opens_an_inquiry_and_says_when_to_expect_an_answer(
    web: TestClient, committed_engine: Engine, clock: Clock
) -> None:
    # A Friday afternoon in the office's time zone: a hearing question (four business hours)
    # is due on Monday morning, after the weekend.
    clock.now = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
    victim_id, case_id = _signed_in(web, committed_engine)
    sent = post_form(
        web,
        QUESTIONS,
        QUESTIONS,
        {"text": "When is the next hearing?", "case_id": str(case_id), "category": "hearing"},
    )
    assert sent.status_code == 200
    assert "We got your question" in sent.text
    assert "We aim to answer by November 23, 2026" in sent.text
    with Session(committed_engine) as session:
        inquiry = session.exec(select(Inquiry)).one()
        entry = session.exec(select(InquiryEntry)).one()
        raw = session.connection().exec_driver_sql("SELECT body FROM inquiry_entry").scalar()
        tasks = session.exec(select(LiaisonTask)).all()
    assert (inquiry.victim_id, inquiry.case_id) == (victim_id, case_id)
    assert (inquiry.channel, inquiry.category, inquiry.status) == ("web", "hearing", "new")
    assert entry.body == "When is the next hearing?"
    assert "hearing" not in str(raw)  # encrypted at rest
    assert tasks == []  # the queue holds it now, not a liaison task


def test_an_empty_question_is_refused_and_a_safety_concern_is_flagged(
    web: TestClient, committed_engine: Engine
) -> None:
    _signed_in(web, committed_engine)
    empty = post_form(web, QUESTIONS, QUESTIONS, {"text": "  "})
    assert empty.status_code == 422
    assert "Write your question." in empty.text
    safety = post_form(
        web, QUESTIONS, QUESTIONS, {"text": "He called me from jail and threatened me."}
    )
    assert "We have told the person on duty about your safety" in safety.text
    with Session(committed_engine) as session:
        assert session.exec(select(Inquiry.category)).one() == "safety_concern"


def test_my_questions_shows_sent_answers_only_in_the_victims_language(
    web: TestClient, committed_engine: Engine
) -> None:
    _, case_id = _signed_in(web, committed_engine, language=Language.SPANISH)
    assert "Todavía no nos ha hecho ninguna pregunta." in web.get("/self-service/my-questions").text
    post_form(web, QUESTIONS, QUESTIONS, {"text": "¿Cuándo es la audiencia?", "category": ""})
    with transaction(committed_engine) as session:
        inquiry = session.exec(select(Inquiry)).one()
        assert inquiry.id is not None
        for status, body in (
            (MessageStatus.SENT, "La corte aún no fijó la audiencia."),
            (MessageStatus.HELD, "Un borrador que espera al supervisor."),
        ):
            session.add(
                InquiryAnswer(
                    inquiry_id=inquiry.id,
                    case_id=case_id,
                    body=body,
                    language="es",
                    author="liaison-1",
                    status=status,
                    channel="email",
                    sent_at=inquiry.received_at if status == MessageStatus.SENT else None,
                )
            )
    page = web.get("/self-service/my-questions")
    assert page.status_code == 200
    assert '<html lang="es"' in page.text
    assert "¿Cuándo es la audiencia?" in page.text
    assert "La corte aún no fijó la audiencia." in page.text
    assert "Un borrador" not in page.text
    assert "Respondimos." in page.text
    assert 'href="/self-service/my-questions"' in page.text
    assert 'aria-current="page"' in page.text
