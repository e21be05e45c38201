"""A case's state is a fold over its live events in the order they occurred."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests.factories import booking, case_of, event
from voice.cases import service as case_service
from voice.cases.models import Case, CaseEvent, Subject
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event, payload_digest


def ingest(session: Session, policy: Policy, candidate: dict[str, Any]) -> CaseEvent:
    receipt = ingest_event(session=session, candidate=candidate, policy=policy)
    assert receipt.status == "accepted"
    return session.get_one(CaseEvent, receipt.event_id)


def marked_booking(markings: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    candidate = booking(**kwargs)
    candidate["markings"] = markings
    return candidate


def subject_of(session: Session, upstream_id: str = "S-T0001") -> Subject:
    return session.exec(select(Subject).where(Subject.upstream_id == upstream_id)).one()


def fresh(session: Session, case: Case) -> Case:
    session.expire_all()
    return session.get_one(Case, case.id)


# --- ordering -------------------------------------------------------------------------------------


def test_state_follows_occurred_at_not_arrival_order(session: Session, policy: Policy) -> None:
    booked = booking(occurred_at="2026-11-02T09:00:00Z")
    released = event(
        "custody.released",
        occurred_at="2026-11-09T16:00:00Z",
        case={"custody_status": "released", "release_type": "bond"},
    )
    transferred = event(
        "custody.transferred",
        occurred_at="2026-11-05T12:00:00Z",
        case={"facility_name": "Second Center", "custody_status": "in_custody"},
    )
    # Arrival order: the release first, then the booking, then the transfer between them.
    for candidate in (released, booked, transferred):
        ingest(session, policy, candidate)

    case = fresh(session, case_of(session))
    assert case.custody_status == "released"
    assert case.release_type == "bond"
    assert case.facility_name == "Second Center"
    assert case.officer_name == "Officer J. Sample"
    assert case.proceedings_stage == "initiated"
    assert case.last_event_at == datetime(2026, 11, 9, 16, 0, tzinfo=UTC)


def test_ordering_compares_instants_across_utc_offsets(session: Session, policy: Policy) -> None:
    # 10:00+02:00 is 08:00Z, which is before 09:00Z.
    ingest(
        session,
        policy,
        event(
            "custody.released",
            occurred_at="2026-11-02T09:00:00Z",
            case={"custody_status": "released"},
        ),
    )
    ingest(
        session,
        policy,
        event(
            "custody.booked",
            occurred_at="2026-11-02T10:00:00+02:00",
            case={"custody_status": "in_custody"},
        ),
    )
    case = fresh(session, case_of(session))
    assert case.custody_status == "released"
    assert case.last_event_at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_late_event_for_the_past_does_not_overwrite_newer_state(
    session: Session, policy: Policy
) -> None:
    ingest(session, policy, event("case.closed", occurred_at="2026-12-01T00:00:00Z"))
    ingest(session, policy, event("case.appeal_filed", occurred_at="2026-11-01T00:00:00Z"))
    assert fresh(session, case_of(session)).proceedings_stage == "closed"


# --- implied state --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "field", "value"),
    [
        ("custody.booked", "custody_status", "in_custody"),
        ("custody.released", "custody_status", "released"),
        ("custody.escaped", "custody_status", "escaped"),
        ("custody.deceased", "custody_status", "deceased"),
        ("removal.completed", "custody_status", "removed"),
        ("case.appeal_filed", "proceedings_stage", "on_appeal"),
        ("case.removal_ordered", "proceedings_stage", "removal_ordered"),
        ("case.closed", "proceedings_stage", "closed"),
    ],
)
def test_event_type_implies_state(
    session: Session, policy: Policy, event_type: str, field: str, value: str
) -> None:
    ingest(session, policy, booking(occurred_at="2026-11-01T00:00:00Z"))
    ingest(session, policy, event(event_type, occurred_at="2026-11-02T00:00:00Z"))
    assert getattr(fresh(session, case_of(session)), field) == value


def test_explicit_state_beats_the_implied_state(session: Session, policy: Policy) -> None:
    ingest(
        session,
        policy,
        event("custody.released", case={"custody_status": "not_in_custody"}),
    )
    assert fresh(session, case_of(session)).custody_status == "not_in_custody"


def test_implied_state_carries_the_event_type_marking(session: Session, policy: Policy) -> None:
    ingest(session, policy, event("custody.released", markings={"/event_type": "(U//LES)"}))
    case = fresh(session, case_of(session))
    assert case.custody_status == "released"
    assert case.markings["custody_status"] == ["(U//LES)"]


# --- corrections ----------------------------------------------------------------------------------


def test_correction_retracts_its_target_and_the_refold_drops_its_values(
    session: Session, policy: Policy
) -> None:
    ingest(session, policy, booking(occurred_at="2026-11-02T09:00:00Z"))
    released = ingest(
        session,
        policy,
        event(
            "custody.released",
            source_event_id="fold-release",
            occurred_at="2026-11-09T16:00:00Z",
            case={
                "custody_status": "released",
                "release_type": "order_of_supervision",
                "release_address": "12 Example Street",
            },
            markings={"/case/release_address": "CUI//SP-PRVCY"},
        ),
    )
    assert fresh(session, case_of(session)).release_type == "order_of_supervision"

    correction = ingest(
        session,
        policy,
        event("correction", corrects="fold-release", occurred_at="2026-11-10T08:00:00Z"),
    )

    session.expire_all()
    assert session.get_one(CaseEvent, released.id).retracted_by_id == correction.id
    assert session.get_one(CaseEvent, correction.id).retracted_by_id is None
    case = case_of(session)
    assert case.custody_status == "in_custody"
    assert case.release_type is None
    assert case.release_address is None
    assert "release_address" not in case.markings
    assert case.facility_name == "Example Processing Center"
    assert case.last_event_at == datetime(2026, 11, 10, 8, 0, tzinfo=UTC)


def test_correction_that_arrives_before_its_target_still_retracts_it(
    session: Session, policy: Policy
) -> None:
    """Out-of-order delivery: the correction is received first, the event it retracts later."""
    ingest(session, policy, booking(occurred_at="2026-11-02T09:00:00Z"))
    correction = ingest(
        session, policy, event("correction", corrects="not-yet", occurred_at="2026-11-10T08:00:00Z")
    )
    late = ingest(
        session,
        policy,
        event(
            "custody.released",
            source_event_id="not-yet",
            occurred_at="2026-11-09T16:00:00Z",
            case={"custody_status": "released", "release_type": "bond"},
        ),
    )
    session.expire_all()
    assert session.get_one(CaseEvent, late.id).retracted_by_id == correction.id
    case = case_of(session)
    assert case.custody_status == "in_custody"
    assert case.release_type is None


def test_correction_only_retracts_events_of_the_same_source(
    session: Session, policy: Policy
) -> None:
    ingest(session, policy, booking(occurred_at="2026-11-02T09:00:00Z"))
    released = ingest(
        session,
        policy,
        event("custody.released", source_event_id="src-x", occurred_at="2026-11-09T16:00:00Z"),
    )
    other = ingest(
        session,
        policy,
        event(
            "correction",
            source="county.jail",
            corrects="src-x",
            occurred_at="2026-11-10T08:00:00Z",
        ),
    )
    session.expire_all()
    assert session.get_one(CaseEvent, released.id).retracted_by_id is None
    assert session.get_one(Case, released.case_id).custody_status == "released"
    assert other.case_id != released.case_id


def test_a_second_correction_of_the_same_event_changes_nothing(
    session: Session, policy: Policy
) -> None:
    ingest(session, policy, booking(occurred_at="2026-11-02T09:00:00Z"))
    target = ingest(
        session,
        policy,
        event("custody.released", source_event_id="twice", occurred_at="2026-11-09T16:00:00Z"),
    )
    first = ingest(
        session, policy, event("correction", corrects="twice", occurred_at="2026-11-10T08:00:00Z")
    )
    ingest(
        session, policy, event("correction", corrects="twice", occurred_at="2026-11-11T08:00:00Z")
    )
    session.expire_all()
    assert session.get_one(CaseEvent, target.id).retracted_by_id == first.id


# --- markings -------------------------------------------------------------------------------------


def test_markings_on_case_fields_are_carried_into_the_case(
    session: Session, policy: Policy
) -> None:
    ingest(session, policy, booking())
    case = fresh(session, case_of(session))
    assert case.markings["officer_name"] == ["(U//FOUO)"]
    assert case.markings["facility_name"] == []
    assert case.markings["custody_status"] == []
    subject = subject_of(session)
    assert subject.markings["first_name"] == []


def test_parent_and_whole_event_markings_reach_every_field_they_cover(
    session: Session, policy: Policy
) -> None:
    ingest(
        session,
        policy,
        marked_booking({"": "(U)", "/case": "CUI//SP-LEI", "/case/officer_name": "(U//FOUO)"}),
    )
    case = fresh(session, case_of(session))
    assert set(case.markings["officer_name"]) == {"(U)", "CUI//SP-LEI", "(U//FOUO)"}
    assert set(case.markings["facility_name"]) == {"(U)", "CUI//SP-LEI"}
    subject = subject_of(session)
    assert subject.markings["last_name"] == ["(U)"]


def test_a_later_unmarked_value_clears_the_marking(session: Session, policy: Policy) -> None:
    ingest(
        session,
        policy,
        marked_booking({"/case/facility_name": "(U//LES)"}, occurred_at="2026-11-02T09:00:00Z"),
    )
    assert fresh(session, case_of(session)).markings["facility_name"] == ["(U//LES)"]
    ingest(
        session,
        policy,
        event(
            "custody.transferred",
            occurred_at="2026-11-03T09:00:00Z",
            case={"facility_name": "Second Center"},
        ),
    )
    case = fresh(session, case_of(session))
    assert case.facility_name == "Second Center"
    assert case.markings["facility_name"] == []


def test_a_marking_stays_with_a_value_later_events_do_not_touch(
    session: Session, policy: Policy
) -> None:
    ingest(
        session,
        policy,
        marked_booking({"/case/facility_name": "(U//LES)"}, occurred_at="2026-11-02T09:00:00Z"),
    )
    ingest(session, policy, event("case.hearing_scheduled", occurred_at="2026-11-03T09:00:00Z"))
    case = fresh(session, case_of(session))
    assert case.facility_name == "Example Processing Center"
    assert case.markings["facility_name"] == ["(U//LES)"]


# --- the subject ----------------------------------------------------------------------------------


def test_subject_fields_fold_like_case_fields(session: Session, policy: Policy) -> None:
    ingest(session, policy, booking(occurred_at="2026-11-02T09:00:00Z"))
    ingest(
        session,
        policy,
        event(
            "custody.transferred",
            occurred_at="2026-11-01T09:00:00Z",  # older: does not win
            subject={"last_name": "Older"},
        ),
    )
    ingest(
        session,
        policy,
        event(
            "custody.transferred",
            occurred_at="2026-11-04T09:00:00Z",
            subject={"last_name": "Newer", "aliases": ["R. N."]},
        ),
    )
    session.expire_all()
    subject = subject_of(session)
    assert subject.first_name == "Ramon"
    assert subject.last_name == "Newer"
    assert subject.aliases == ["R. N."]
    assert subject.date_of_birth == date(1988, 4, 12)
    assert subject.a_number == "A200100101"


@pytest.mark.parametrize(
    ("flag", "attribute"), [("minor", "is_minor"), ("protected_1367", "protected_1367")]
)
def test_protection_flags_are_sticky(
    session: Session, policy: Policy, flag: str, attribute: str
) -> None:
    ingest(session, policy, booking(occurred_at="2026-11-01T09:00:00Z"))
    assert getattr(subject_of(session), attribute) is False
    ingest(
        session,
        policy,
        event(
            "custody.transferred",
            source_event_id=f"flag-{flag}",
            occurred_at="2026-11-02T09:00:00Z",
            subject={"flags": {flag: True}},
        ),
    )
    session.expire_all()
    assert getattr(subject_of(session), attribute) is True

    # A later event that clears the flag outright does not clear it.
    ingest(
        session,
        policy,
        event(
            "custody.released",
            occurred_at="2026-11-03T09:00:00Z",
            subject={"flags": {flag: False}},
        ),
    )
    session.expire_all()
    assert getattr(subject_of(session), attribute) is True

    # Nor does retracting the event that set it.
    ingest(
        session,
        policy,
        event("correction", corrects=f"flag-{flag}", occurred_at="2026-11-04T09:00:00Z"),
    )
    session.expire_all()
    subject = subject_of(session)
    assert getattr(subject, attribute) is True
    assert (
        session.exec(select(CaseEvent).where(CaseEvent.source_event_id == f"flag-{flag}"))
        .one()
        .retracted_by_id
        is not None
    )


def test_a_flag_on_an_older_event_arriving_late_still_protects(
    session: Session, policy: Policy
) -> None:
    ingest(session, policy, booking(occurred_at="2026-11-05T09:00:00Z"))
    ingest(
        session,
        policy,
        event(
            "custody.booked",
            occurred_at="2026-10-01T09:00:00Z",
            subject={"flags": {"minor": True}},
        ),
    )
    session.expire_all()
    assert subject_of(session).is_minor is True


# --- which case an event lands on -----------------------------------------------------------------


def test_event_without_case_number_lands_on_the_subjects_latest_case(
    session: Session, policy: Policy
) -> None:
    ingest(session, policy, booking(case_number="CASE-OLD", occurred_at="2026-10-01T09:00:00Z"))
    ingest(session, policy, booking(case_number="CASE-NEW", occurred_at="2026-11-01T09:00:00Z"))
    # A different subject's case, created last, must not attract the event.
    ingest(session, policy, booking(subject_id="S-OTHER", case_number="CASE-THIRD"))

    candidate = event("custody.released", occurred_at="2026-11-09T09:00:00Z")
    del candidate["case"]
    landed = ingest(session, policy, candidate)

    new_case = case_of(session, "CASE-NEW")
    assert landed.case_id == new_case.id
    assert fresh(session, new_case).custody_status == "released"
    assert fresh(session, case_of(session, "CASE-OLD")).custody_status == "in_custody"
    assert fresh(session, case_of(session, "CASE-THIRD")).custody_status == "in_custody"


def test_event_with_case_but_no_number_lands_on_the_latest_case(
    session: Session, policy: Policy
) -> None:
    ingest(session, policy, booking(case_number="CASE-ONLY"))
    candidate = event("case.hearing_scheduled", case={"hearing_court": "Court 3"})
    del candidate["case"]["case_number"]
    landed = ingest(session, policy, candidate)
    case = fresh(session, case_of(session, "CASE-ONLY"))
    assert landed.case_id == case.id
    assert case.hearing_court == "Court 3"
    assert case.case_number == "CASE-ONLY"


def test_first_event_without_case_number_creates_an_unnumbered_case(
    session: Session, policy: Policy
) -> None:
    candidate = event("custody.booked", subject_id="S-NEW")
    del candidate["case"]
    landed = ingest(session, policy, candidate)
    case = session.get_one(Case, landed.case_id)
    assert case.case_number is None
    assert case.custody_status == "in_custody"


def test_events_of_one_subject_with_two_case_numbers_make_two_cases(
    session: Session, policy: Policy
) -> None:
    ingest(session, policy, booking(case_number="CASE-A"))
    ingest(session, policy, event("custody.released", case_number="CASE-B"))
    cases = session.exec(select(Case).order_by(col(Case.id))).all()
    assert [c.case_number for c in cases] == ["CASE-A", "CASE-B"]
    assert [c.custody_status for c in cases] == ["in_custody", "released"]


# --- record_event directly ------------------------------------------------------------------------


def test_record_event_stores_the_payload_and_parses_times(session: Session) -> None:
    payload = event(
        "case.hearing_scheduled",
        occurred_at="2026-11-02T10:00:00+01:00",
        case={"hearing_at": "2026-12-01T14:30:00Z", "related_persons": [{"role": "witness"}]},
    )
    stored = case_service.record_event(
        session=session,
        payload=payload,
        payload_sha256=payload_digest(payload),
        receipt_id="00000000-0000-0000-0000-00000000f01d",
    )
    session.expire_all()
    stored = session.get_one(CaseEvent, stored.id)
    assert stored.occurred_at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert stored.payload == payload
    case = session.get_one(Case, stored.case_id)
    assert case.hearing_at == datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
    assert case.proceedings_stage == "hearing_scheduled"
    assert not hasattr(case, "related_persons")
