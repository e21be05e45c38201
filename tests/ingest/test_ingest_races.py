"""Concurrent ingest: the new subject another request created first, and unplaceable markings."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from tests.factories import booking, event
from voice.cases.fields import markings_for
from voice.cases.models import Case, CaseEvent, Subject
from voice.disclosure.policy import Policy
from voice.ingest import apply
from voice.ingest.service import ingest_event


def test_a_subject_created_concurrently_is_used_on_the_next_attempt(
    session: Session, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_event(session=session, candidate=booking(source_event_id="first"), policy=policy)
    real = apply._subjects
    calls: list[int] = []

    def lookup_misses_once(
        run: apply._Run, plain: list[apply.NewEvent]
    ) -> tuple[dict[tuple[str, str], Subject], list[Case]]:
        calls.append(len(plain))
        if len(calls) == 1:
            # As if another request inserted this subject between our lookup and our insert.
            for new in plain:
                source, upstream_id = apply._subject_key(new)
                run.session.add(Subject(source=source, upstream_id=upstream_id))
            run.session.flush()
        return real(run, plain)

    monkeypatch.setattr(apply, "_subjects", lookup_misses_once)
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
