"""Ingest: receipts, idempotency, batches, the race on a duplicate, and the outbox it writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from tests.factories import booking, case_of, event, victim_with_link
from voice.cases.models import Case, CaseEvent, Subject
from voice.disclosure.policy import Policy
from voice.ingest import service as ingest_service
from voice.ingest.service import (
    EventIdReused,
    Receipt,
    ingest_batch,
    ingest_event,
    payload_digest,
)
from voice.ingest.validation import InvalidEvent
from voice.notify.models import Channel, Notification, NotificationStatus
from voice.victims.models import Victim, VictimCaseLink

COUNTED: tuple[type[SQLModel], ...] = (CaseEvent, Notification, Subject, Case)


def counts(session: Session) -> dict[str, int]:
    return {
        model.__name__: session.exec(select(func.count()).select_from(model)).one()
        for model in COUNTED
    }


def notifications_for(session: Session, event_id: int) -> list[Notification]:
    return list(
        session.exec(
            select(Notification)
            .where(Notification.event_id == event_id)
            .order_by(col(Notification.link_id), col(Notification.channel))
        )
    )


def link_channels(session: Session, event_id: int) -> set[tuple[int, str]]:
    return {(n.link_id, n.channel) for n in notifications_for(session, event_id)}


def setup_case(session: Session, policy: Policy, **kwargs: Any) -> tuple[Receipt, Case]:
    """A booked subject with a case and nobody linked yet."""
    receipt = ingest_event(session=session, candidate=booking(**kwargs), policy=policy)
    return receipt, case_of(session)


def link_id(link: VictimCaseLink) -> int:
    assert link.id is not None
    return link.id


# --- receipts and idempotency --------------------------------------------------------------------


def test_accepted_receipt(session: Session, policy: Policy) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)
    candidate = booking(source_event_id="r-accept-1")
    receipt = ingest_event(session=session, candidate=candidate, policy=policy)

    assert receipt.status == "accepted"
    assert receipt.source == "enforce"
    assert receipt.source_event_id == "r-accept-1"
    assert str(uuid.UUID(receipt.receipt_id)) == receipt.receipt_id
    assert receipt.notifications == 0
    assert receipt.received_at.tzinfo is not None
    assert receipt.received_at > before

    stored = session.get_one(CaseEvent, receipt.event_id)
    assert stored.receipt_id == receipt.receipt_id
    assert stored.case_id == receipt.case_id
    assert stored.payload == candidate
    assert stored.payload_sha256 == payload_digest(candidate)
    assert stored.markings == candidate["markings"]
    assert case_of(session).id == receipt.case_id

    body = receipt.as_dict()
    assert body["status"] == "accepted"
    assert body["received_at"] == receipt.received_at.isoformat()
    assert body["event_id"] == receipt.event_id


def test_replay_is_a_duplicate_and_changes_nothing(session: Session, policy: Policy) -> None:
    _, case = setup_case(session, policy)
    victim_with_link(session, case)
    candidate = event("custody.transferred", source_event_id="r-replay-1")
    first = ingest_event(session=session, candidate=candidate, policy=policy)
    assert first.status == "accepted"
    assert first.notifications == 1
    before = counts(session)

    for _ in range(2):
        again = ingest_event(session=session, candidate=dict(candidate), policy=policy)
        assert again.status == "duplicate"
        assert again.receipt_id == first.receipt_id
        assert again.event_id == first.event_id
        assert again.case_id == first.case_id
        assert again.notifications == first.notifications
        assert counts(session) == before


def test_a_reused_id_with_a_different_body_is_refused_and_changes_nothing(
    session: Session, policy: Policy
) -> None:
    ingest_event(session=session, candidate=booking(source_event_id="r-same-key"), policy=policy)
    before = counts(session)
    changed = event("custody.released", source_event_id="r-same-key")
    with pytest.raises(EventIdReused) as refused:
        ingest_event(session=session, candidate=changed, policy=policy)
    assert [p.pointer for p in refused.value.problems] == ["/source_event_id"]
    assert "r-same-key" in str(refused.value)
    assert counts(session) == before
    assert case_of(session).custody_status == "in_custody"


def test_same_source_event_id_from_another_source_is_another_event(
    session: Session, policy: Policy
) -> None:
    one = ingest_event(
        session=session, candidate=booking(source_event_id="shared-1"), policy=policy
    )
    other = ingest_event(
        session=session,
        candidate=booking(source_event_id="shared-1", source="county.jail"),
        policy=policy,
    )
    assert one.status == other.status == "accepted"
    assert one.event_id != other.event_id
    assert one.receipt_id != other.receipt_id
    assert one.case_id != other.case_id  # subjects are keyed by source too
    assert counts(session)["CaseEvent"] == 2
    assert counts(session)["Subject"] == 2


def test_invalid_event_raises_and_stores_nothing(session: Session, policy: Policy) -> None:
    before = counts(session)
    candidate = booking()
    candidate["event_type"] = "custody.vanished"
    with pytest.raises(InvalidEvent) as caught:
        ingest_event(session=session, candidate=candidate, policy=policy)
    assert [p.pointer for p in caught.value.problems] == ["/event_type"]
    assert counts(session) == before


# --- batches -------------------------------------------------------------------------------------


def test_batch_applies_valid_events_and_reports_invalid_ones_by_index(
    session: Session, policy: Policy
) -> None:
    bad = event("custody.released", source_event_id="b-2")
    del bad["occurred_at"]
    bad["case"]["custody_status"] = "jailed"
    candidates = [
        booking(source_event_id="b-1"),
        bad,
        event("case.hearing_scheduled", source_event_id="b-3", occurred_at="2026-11-03T10:00:00Z"),
    ]

    results = ingest_batch(session=session, candidates=candidates, policy=policy)

    assert [r.index for r in results] == [0, 1, 2]
    assert results[0].receipt is not None
    assert results[0].receipt.status == "accepted"
    assert results[2].receipt is not None
    assert results[2].receipt.status == "accepted"
    assert results[1].receipt is None
    assert {p.pointer for p in results[1].problems} == {"/occurred_at", "/case/custody_status"}
    assert results[0].problems == ()

    stored = set(session.exec(select(CaseEvent.source_event_id)).all())
    assert stored == {"b-1", "b-3"}
    case = case_of(session)
    assert case.custody_status == "in_custody"
    assert case.proceedings_stage == "hearing_scheduled"

    bodies = [r.as_dict() for r in results]
    assert bodies[0]["status"] == "accepted"
    assert bodies[0]["receipt"]["source_event_id"] == "b-1"
    assert bodies[1]["status"] == "rejected"
    assert bodies[1]["index"] == 1
    assert {e["pointer"] for e in bodies[1]["errors"]} == {"/occurred_at", "/case/custody_status"}


def test_batch_reports_an_unstorable_timestamp_and_applies_the_rest(
    session: Session, policy: Policy
) -> None:
    """A valid RFC 3339 instant that falls outside the storable range (year 10000 in UTC)."""
    candidates = [
        booking(source_event_id="b-range-1"),
        event(
            "custody.released", source_event_id="b-range-2", occurred_at="9999-12-31T23:59:59-01:00"
        ),
        event("case.appeal_filed", source_event_id="b-range-3", occurred_at="2026-11-03T10:00:00Z"),
    ]
    results = ingest_batch(session=session, candidates=candidates, policy=policy)

    assert [r.index for r in results] == [0, 1, 2]
    assert results[1].receipt is None
    assert {p.pointer for p in results[1].problems} == {"/occurred_at"}
    stored = set(session.exec(select(CaseEvent.source_event_id)).all())
    assert stored == {"b-range-1", "b-range-3"}


def test_duplicate_inside_one_batch(session: Session, policy: Policy) -> None:
    first = booking(source_event_id="b-dup")
    results = ingest_batch(session=session, candidates=[first, dict(first)], policy=policy)
    assert [r.receipt.status for r in results if r.receipt] == ["accepted", "duplicate"]
    assert results[0].receipt is not None
    assert results[1].receipt is not None
    assert results[0].receipt.receipt_id == results[1].receipt.receipt_id
    assert (
        results[0].as_dict()["receipt"]["event_id"] == results[1].as_dict()["receipt"]["event_id"]
    )
    assert counts(session)["CaseEvent"] == 1
    assert results[1].as_dict()["status"] == "duplicate"


def test_empty_batch(session: Session, policy: Policy) -> None:
    assert ingest_batch(session=session, candidates=[], policy=policy) == []


# --- the race: another request stored the event between the lookup and the insert ----------------


def test_concurrent_duplicate_returns_the_original_receipt(
    session: Session, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, case = setup_case(session, policy)
    victim_with_link(session, case)
    candidate = event("custody.transferred", source_event_id="race-1")
    original = ingest_event(session=session, candidate=candidate, policy=policy)
    assert original.notifications == 1
    before = counts(session)

    real_first, real_existing = ingest_service._existing_or_corrected, ingest_service._existing
    calls: list[tuple[str, str]] = []

    def first_lookup_misses(s: Session, source: str, source_event_id: str) -> tuple[None, bool]:
        return None, False

    def lookup_after_conflict(s: Session, source: str, source_event_id: str) -> CaseEvent | None:
        calls.append((source, source_event_id))
        return real_existing(s, source, source_event_id)

    monkeypatch.setattr(ingest_service, "_existing_or_corrected", first_lookup_misses)
    monkeypatch.setattr(ingest_service, "_existing", lookup_after_conflict)
    again = ingest_event(session=session, candidate=dict(candidate), policy=policy)

    assert len(calls) == 1, "the IntegrityError branch was not taken"
    assert again.status == "duplicate"
    assert again.receipt_id == original.receipt_id
    assert again.event_id == original.event_id
    assert again.notifications == 1
    assert counts(session) == before

    # The session is still usable: the savepoint, not the whole transaction, was rolled back.
    monkeypatch.setattr(ingest_service, "_existing_or_corrected", real_first)
    monkeypatch.setattr(ingest_service, "_existing", real_existing)
    later = ingest_event(
        session=session,
        candidate=event(
            "custody.released", source_event_id="race-2", occurred_at="2026-11-05T09:00:00Z"
        ),
        policy=policy,
    )
    assert later.status == "accepted"
    assert counts(session)["CaseEvent"] == before["CaseEvent"] + 1
    assert case_of(session).custody_status == "released"


def test_integrity_error_without_an_existing_row_is_raised(
    session: Session, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_event(session=session, candidate=booking(source_event_id="race-3"), policy=policy)
    monkeypatch.setattr(ingest_service, "_existing_or_corrected", lambda *args: (None, False))
    monkeypatch.setattr(ingest_service, "_existing", lambda *args: None)
    with pytest.raises(ingest_service.IngestConflict) as raised:
        ingest_event(session=session, candidate=booking(source_event_id="race-3"), policy=policy)
    # The database error quotes the row's values; none of it travels with the exception.
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__
    assert "race-3" not in str(raised.value)


# --- notifications -------------------------------------------------------------------------------


def test_one_notification_per_verified_link_and_chosen_channel(
    session: Session, policy: Policy
) -> None:
    _, case = setup_case(session, policy)
    _, email_only, _ = victim_with_link(session, case, email="a@example.invalid")
    _, both, _ = victim_with_link(
        session, case, email="b@example.invalid", phone="+15550100", notify_sms=True
    )
    _, sms_only, _ = victim_with_link(
        session, case, email=None, phone="+15550101", notify_email=False, notify_sms=True
    )
    _, opted_out, _ = victim_with_link(
        session, case, email="c@example.invalid", phone="+15550102", notify_email=False
    )
    _, pending, _ = victim_with_link(session, case, email="d@example.invalid", verified=False)
    inactive_victim, inactive, _ = victim_with_link(session, case, email="e@example.invalid")
    inactive_victim.active = False
    session.add(inactive_victim)
    unverified_victim, unverified_contact, _ = victim_with_link(
        session, case, email="f@example.invalid", phone="+15550103", notify_sms=True
    )
    unverified_victim.email_verified = False
    unverified_victim.phone_verified = False
    session.add(unverified_victim)
    _, wants_sms_no_phone, _ = victim_with_link(
        session, case, email=None, notify_email=True, notify_sms=True
    )
    session.flush()

    receipt = ingest_event(session=session, candidate=event("custody.transferred"), policy=policy)

    expected = {
        (link_id(email_only), Channel.EMAIL.value),
        (link_id(both), Channel.EMAIL.value),
        (link_id(both), Channel.SMS.value),
        (link_id(sms_only), Channel.SMS.value),
    }
    assert link_channels(session, receipt.event_id) == expected
    assert receipt.notifications == len(expected)
    for notification in notifications_for(session, receipt.event_id):
        assert notification.status == NotificationStatus.CREATED
    silent = {link_id(x) for x in (opted_out, pending, inactive, unverified_contact)}
    silent.add(link_id(wants_sms_no_phone))
    assert not silent & {lid for lid, _ in link_channels(session, receipt.event_id)}


def test_links_to_other_cases_are_not_notified(session: Session, policy: Policy) -> None:
    _, case = setup_case(session, policy)
    ingest_event(
        session=session,
        candidate=booking(subject_id="S-OTHER", case_number="CASE-OTHER"),
        policy=policy,
    )
    _, mine, _ = victim_with_link(session, case)
    victim_with_link(session, case_of(session, "CASE-OTHER"), email="o@example.invalid")

    receipt = ingest_event(session=session, candidate=event("custody.released"), policy=policy)
    assert link_channels(session, receipt.event_id) == {(link_id(mine), "email")}


@pytest.mark.parametrize("flag", ["minor", "protected_1367"])
def test_protected_subject_causes_no_notifications(
    session: Session, policy: Policy, flag: str
) -> None:
    _, case = setup_case(session, policy)
    victim_with_link(session, case)
    flagged = ingest_event(
        session=session,
        candidate=event("custody.transferred", subject={"flags": {flag: True}}),
        policy=policy,
    )
    assert flagged.notifications == 0
    # Sticky: a later event that does not repeat the flag notifies nobody either.
    later = ingest_event(
        session=session,
        candidate=event("custody.released", occurred_at="2026-11-20T09:00:00Z"),
        policy=policy,
    )
    assert later.notifications == 0
    assert counts(session)["Notification"] == 0


def test_removal_scheduled_causes_no_notifications(session: Session, policy: Policy) -> None:
    _, case = setup_case(session, policy)
    victim_with_link(session, case, phone="+15550100", notify_sms=True)
    receipt = ingest_event(
        session=session,
        candidate=event(
            "removal.scheduled",
            case={"scheduled_removal_at": "2027-01-05T06:00:00Z", "removal_port": "Port X"},
        ),
        policy=policy,
    )
    assert receipt.notifications == 0
    assert notifications_for(session, receipt.event_id) == []


def test_a_whole_event_marking_causes_no_notifications(session: Session, policy: Policy) -> None:
    _, case = setup_case(session, policy)
    victim_with_link(session, case)
    receipt = ingest_event(
        session=session,
        candidate=event("custody.released", markings={"": "(U//LES)"}),
        policy=policy,
    )
    assert receipt.notifications == 0


def _set_status(session: Session, event_id: int, link: VictimCaseLink, status: str) -> None:
    for notification in notifications_for(session, event_id):
        if notification.link_id == link.id:
            notification.status = status
            session.add(notification)
    session.flush()


@pytest.mark.parametrize(
    "told_status",
    [
        NotificationStatus.SENDING,
        NotificationStatus.SENT,
        NotificationStatus.DELIVERED,
        NotificationStatus.TEMPORARY_FAILURE,
    ],
)
def test_correction_notifies_only_links_that_may_have_been_told(
    session: Session, policy: Policy, told_status: NotificationStatus
) -> None:
    _, case = setup_case(session, policy)
    _, told, _ = victim_with_link(session, case, email="told@example.invalid")
    _, queued, _ = victim_with_link(session, case, email="queued@example.invalid")
    _, failed, _ = victim_with_link(session, case, email="failed@example.invalid")
    _, cancelled, _ = victim_with_link(session, case, email="cancelled@example.invalid")
    released = ingest_event(
        session=session,
        candidate=event(
            "custody.released", source_event_id="c-target", occurred_at="2026-11-09T16:40:00Z"
        ),
        policy=policy,
    )
    assert released.notifications == 4
    _set_status(session, released.event_id, told, told_status)
    _set_status(session, released.event_id, failed, NotificationStatus.PERMANENT_FAILURE)
    _set_status(session, released.event_id, cancelled, NotificationStatus.CANCELLED)
    # A link added after the event heard nothing of it, so it hears nothing of its correction.
    _, newcomer, _ = victim_with_link(session, case, email="new@example.invalid")

    correction = ingest_event(
        session=session,
        candidate=event(
            "correction",
            corrects="c-target",
            occurred_at="2026-11-10T08:00:00Z",
            case={"custody_status": "in_custody"},
        ),
        policy=policy,
    )

    assert correction.status == "accepted"
    assert link_channels(session, correction.event_id) == {(link_id(told), "email")}
    assert correction.notifications == 1
    for silent in (queued, failed, cancelled, newcomer):
        assert silent.id not in {n.link_id for n in notifications_for(session, correction.event_id)}


def test_correction_of_an_event_nobody_was_told_of_notifies_nobody(
    session: Session, policy: Policy
) -> None:
    _, case = setup_case(session, policy)
    victim_with_link(session, case, phone="+15550100", notify_sms=True)
    victim_with_link(session, case, email="second@example.invalid")
    released = ingest_event(
        session=session,
        candidate=event("custody.released", source_event_id="c-quiet"),
        policy=policy,
    )
    assert released.notifications == 3
    statuses = {n.status for n in notifications_for(session, released.event_id)}
    assert statuses == {NotificationStatus.CREATED}

    correction = ingest_event(
        session=session,
        candidate=event("correction", corrects="c-quiet", occurred_at="2026-11-10T08:00:00Z"),
        policy=policy,
    )
    assert correction.notifications == 0
    assert notifications_for(session, correction.event_id) == []


def test_correction_reaches_every_chosen_channel_of_a_told_link(
    session: Session, policy: Policy
) -> None:
    _, case = setup_case(session, policy)
    _, link, _ = victim_with_link(session, case, phone="+15550100", notify_sms=True)
    released = ingest_event(
        session=session,
        candidate=event("custody.released", source_event_id="c-both"),
        policy=policy,
    )
    # Only the SMS went out; the correction still goes to both channels the registrant chose.
    for notification in notifications_for(session, released.event_id):
        if notification.channel == Channel.SMS:
            notification.status = NotificationStatus.DELIVERED
            session.add(notification)
    session.flush()
    correction = ingest_event(
        session=session,
        candidate=event("correction", corrects="c-both", occurred_at="2026-11-10T08:00:00Z"),
        policy=policy,
    )
    assert link_channels(session, correction.event_id) == {
        (link_id(link), "email"),
        (link_id(link), "sms"),
    }


def test_correction_skips_told_links_that_are_no_longer_active(
    session: Session, policy: Policy
) -> None:
    _, case = setup_case(session, policy)
    victim, link, _ = victim_with_link(session, case)
    released = ingest_event(
        session=session,
        candidate=event("custody.released", source_event_id="c-gone"),
        policy=policy,
    )
    _set_status(session, released.event_id, link, NotificationStatus.DELIVERED)
    victim.active = False
    session.add(victim)
    session.flush()
    correction = ingest_event(
        session=session,
        candidate=event("correction", corrects="c-gone", occurred_at="2026-11-10T08:00:00Z"),
        policy=policy,
    )
    assert correction.notifications == 0


def test_an_event_retracted_before_it_arrives_notifies_nobody(
    session: Session, policy: Policy
) -> None:
    """Out-of-order delivery: a correction names an event that has not been received yet."""
    _, case = setup_case(session, policy)
    victim_with_link(session, case)
    correction = ingest_event(
        session=session,
        candidate=event("correction", corrects="c-early", occurred_at="2026-11-10T08:00:00Z"),
        policy=policy,
    )
    assert correction.notifications == 0
    late = ingest_event(
        session=session,
        candidate=event(
            "custody.released", source_event_id="c-early", occurred_at="2026-11-09T16:40:00Z"
        ),
        policy=policy,
    )
    assert late.status == "accepted"
    # Either no notice is queued, or the event is marked retracted so the worker cancels it.
    stored = session.get_one(CaseEvent, late.event_id)
    assert late.notifications == 0 or stored.retracted_by_id == correction.event_id, (
        "a notice of an already-retracted event is queued and would be sent"
    )


def test_victim_rows_are_untouched_by_ingest(session: Session, policy: Policy) -> None:
    _, case = setup_case(session, policy)
    victim, _, _ = victim_with_link(session, case)
    before = session.get_one(Victim, victim.id).model_dump()
    ingest_event(session=session, candidate=event("custody.released"), policy=policy)
    session.expire_all()
    assert session.get_one(Victim, victim.id).model_dump() == before
