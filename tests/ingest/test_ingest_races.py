"""Concurrent ingest: the new subject another request created first, and unplaceable markings."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from tests.factories import booking, event
from voice.cases import service as case_service
from voice.cases.fields import markings_for
from voice.cases.models import CaseEvent, Subject
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event


def test_a_subject_created_concurrently_is_used_on_the_next_attempt(
    session: Session, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_event(session=session, candidate=booking(source_event_id="first"), policy=policy)
    real = case_service.get_or_create_subject
    calls: list[str] = []

    def lookup_misses_once(*, session: Session, source: str, upstream_id: str) -> Subject:
        calls.append(upstream_id)
        if len(calls) == 1:
            # As if another request inserted this subject between our lookup and our insert.
            subject = Subject(source=source, upstream_id=upstream_id)
            session.add(subject)
            session.flush()
            return subject
        return real(session=session, source=source, upstream_id=upstream_id)

    monkeypatch.setattr(case_service, "get_or_create_subject", lookup_misses_once)
    receipt = ingest_event(
        session=session,
        policy=policy,
        candidate=event("case.hearing_scheduled", source_event_id="second"),
    )
    assert len(calls) == 2, "the retry did not happen"
    assert receipt.status == "accepted"
    assert session.exec(select(func.count()).select_from(Subject)).one() == 1
    assert session.exec(select(func.count()).select_from(CaseEvent)).one() == 2


def test_a_marking_key_that_is_not_a_pointer_covers_the_whole_event() -> None:
    markings = {"case/facility_name": "(U//LES)"}
    assert markings_for("/case/facility_name", markings) == ("(U//LES)",)
    assert markings_for("/subject/first_name", markings) == ("(U//LES)",)
    assert markings_for("/case/facility_name", {"/case/facility_city": "LES"}) == ()
