"""An event's release from a subject and case the caller folded in memory (bulk ingest folds a
batch before it writes the rows): what is released is what that state says, and the state
must be the event's own."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlmodel import Session

from tests.factories import booking
from voice.cases.models import Case, CaseEvent, Subject
from voice.disclosure.policy import Policy
from voice.disclosure.release import Audience, release
from voice.ingest.service import ingest_event


def _stored(session: Session, policy: Policy) -> tuple[CaseEvent, Subject, Case]:
    receipt = ingest_event(session=session, candidate=booking(), policy=policy)
    event = session.get_one(CaseEvent, receipt.event_id)
    case = session.get_one(Case, event.case_id)
    return event, session.get_one(Subject, case.subject_id), case


def _copy(row: Subject | Case) -> SimpleNamespace:
    return SimpleNamespace(**{key: getattr(row, key) for key in type(row).model_fields})


def test_the_folded_state_is_what_is_released(session: Session, policy: Policy) -> None:
    event, subject, case = _stored(session, policy)
    stored = release(session=session, policy=policy, audience=Audience.VICTIM_VERIFIED, event=event)
    assert "subject.last_name" in stored.released

    folded_subject = _copy(subject)
    folded_subject.is_minor = True  # a later event of the batch said so; not yet written
    view = release(
        session=session,
        policy=policy,
        audience=Audience.VICTIM_VERIFIED,
        event=event,
        folded=(folded_subject, _copy(case)),
    )
    assert "subject.last_name" not in view.released
    assert "harm.minor" in {withheld.reason for withheld in view.withheld}


def test_a_folded_state_of_another_case_is_refused(session: Session, policy: Policy) -> None:
    event, subject, case = _stored(session, policy)
    other_case = _copy(case)
    other_case.id = (case.id or 0) + 1
    other_subject = _copy(subject)
    other_subject.id = (subject.id or 0) + 1
    for folded in ((_copy(subject), other_case), (other_subject, _copy(case))):
        with pytest.raises(ValueError, match="its own event"):
            release(
                session=session,
                policy=policy,
                audience=Audience.VICTIM_VERIFIED,
                event=event,
                folded=folded,
            )
