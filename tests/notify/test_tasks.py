"""The outbox worker: claiming, sending, accounting, retrying, cancelling, and its loop."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import datetime, timedelta
from email import policy as email_policy
from email.parser import BytesParser
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests.factories import booking, case_of, event, victim_with_link
from voice.audit.models import DisclosureRecord, RecipientReference
from voice.config import EmailAdapterKind, Settings, SmsAdapterKind
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.ingest.service import Receipt, ingest_event
from voice.notify import tasks
from voice.notify.adapters.base import DeliveryError, OutgoingEmail, OutgoingSms
from voice.notify.adapters.memory import MemoryEmailSender, MemorySmsSender
from voice.notify.models import FINAL_STATUSES, Channel, Notification, NotificationStatus
from voice.notify.phrases import headline
from voice.notify.quiet_hours import QuietUntil
from voice.notify.settle import _finish
from voice.notify.tasks import WorkerContext, _Prepared, claim, deliver, run_once
from voice.victims.models import Language, VerificationStatus, Victim, VictimCaseLink
from voice.worker import BackgroundWorker, make_context, run_worker

VICTIM_EMAIL = "victim@example.invalid"
VICTIM_PHONE = "+15550123456"

# Values in the booking and release events that must never reach a victim.
NOTE_TEXT = "Booked after transfer from county jail."
OFFICER = "Officer J. Sample"
RELEASE_ADDRESS = "12 Example Street, Sampletown, TX 75001"
NEVER_RENDERED = (NOTE_TEXT, OFFICER, RELEASE_ADDRESS, "A200100101", "1988-04-12", "Exampleland")


class RecordingEmailSender(MemoryEmailSender):
    """A memory sender that also keeps every call, so a repeated send shows up."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[OutgoingEmail] = []

    def send(self, *, message: OutgoingEmail) -> str:
        self.calls.append(message)
        return super().send(message=message)


class RecordingSmsSender(MemorySmsSender):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[OutgoingSms] = []

    def send(self, *, message: OutgoingSms) -> str:
        self.calls.append(message)
        return super().send(message=message)


class FailingEmailSender:
    """Raises the given exception on every send."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls = 0

    def send(self, *, message: OutgoingEmail) -> str:
        self.calls += 1
        raise self.exc


# ----------------------------------------------------------------------------- helpers


def ingest(engine: Engine, policy: Policy, candidate: dict[str, Any]) -> Receipt:
    with transaction(engine) as session:
        return ingest_event(session=session, candidate=candidate, policy=policy)


def register(
    engine: Engine,
    policy: Policy,
    *,
    phone: str | None = None,
    notify_sms: bool = False,
    language: Language = Language.ENGLISH,
) -> tuple[Victim, VictimCaseLink]:
    """A case (from a first, earlier event) and a verified victim linked to it."""
    ingest(engine, policy, event("custody.detainer_lodged", occurred_at="2026-11-01T08:00:00Z"))
    with transaction(engine) as session:
        victim, link, _ = victim_with_link(
            session,
            case_of(session),
            email=VICTIM_EMAIL,
            phone=phone,
            notify_sms=notify_sms,
            language=language,
        )
    return victim, link


def notifications(engine: Engine) -> list[Notification]:
    with transaction(engine) as session:
        return list(session.exec(select(Notification).order_by(col(Notification.id))).all())


def only_notification(engine: Engine) -> Notification:
    rows = notifications(engine)
    assert len(rows) == 1
    return rows[0]


def get_notification(engine: Engine, notification_id: int) -> Notification:
    with transaction(engine) as session:
        return session.get_one(Notification, notification_id)


def disclosure_records(engine: Engine) -> list[DisclosureRecord]:
    with transaction(engine) as session:
        return list(session.exec(select(DisclosureRecord).order_by(col(DisclosureRecord.id))).all())


def recipient_of(engine: Engine, ref: str) -> tuple[str, str]:
    """Who an accounting record's opaque reference stands for, from the protected table."""
    with transaction(engine) as session:
        row = session.exec(select(RecipientReference).where(RecipientReference.ref == ref)).one()
        return row.recipient_kind, row.recipient_id


def claim_at(ctx: WorkerContext, now: datetime, *, worker_id: str | None = None) -> list[int]:
    with transaction(ctx.engine) as session:
        return claim(
            session=session,
            worker_id=worker_id or ctx.worker_id,
            now=now,
            lease_seconds=ctx.settings.worker_lease_seconds,
            limit=ctx.settings.worker_batch_size,
        )


def one_queued(engine: Engine, policy: Policy) -> Notification:
    register(engine, policy)
    receipt = ingest(engine, policy, booking())
    assert receipt.notifications == 1
    return only_notification(engine)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
def email_out() -> RecordingEmailSender:
    return RecordingEmailSender()


@pytest.fixture
def sms_out() -> RecordingSmsSender:
    return RecordingSmsSender()


@pytest.fixture
def ctx(
    committed_engine: Engine,
    settings: Settings,
    policy: Policy,
    email_out: RecordingEmailSender,
    sms_out: RecordingSmsSender,
) -> WorkerContext:
    return WorkerContext(
        engine=committed_engine,
        settings=settings,
        policy=policy,
        email=email_out,
        sms=sms_out,
        worker_id="w1",
    )


# ----------------------------------------------------------------------------- sending


def test_run_once_sends_each_notification_once_and_accounts_for_it(
    ctx: WorkerContext,
    policy: Policy,
    settings: Settings,
    email_out: RecordingEmailSender,
    sms_out: RecordingSmsSender,
) -> None:
    engine = ctx.engine
    victim, link = register(engine, policy, phone=VICTIM_PHONE, notify_sms=True)
    receipt = ingest(engine, policy, booking())
    assert receipt.notifications == 2

    assert run_once(ctx) == 2

    assert len(email_out.calls) == 1
    assert len(sms_out.calls) == 1
    mail, text = email_out.calls[0], sms_out.calls[0]
    assert mail.to == VICTIM_EMAIL
    assert mail.sender == settings.email_from
    assert mail.subject
    assert "Ramon Example " + headline("custody.booked", "en") in mail.text
    assert text.to == VICTIM_PHONE
    assert text.sender == settings.sms_from
    assert headline("custody.booked", "en") in text.body

    rows = notifications(engine)
    assert {row.channel for row in rows} == {Channel.EMAIL, Channel.SMS}
    for row in rows:
        assert row.status == NotificationStatus.SENT
        assert row.provider_ref == f"memory-n-{row.id:08d}"
        assert row.sent_at is not None
        assert row.attempts == 1
        assert row.claimed_by is None
        assert row.claimed_until is None
        assert row.link_id == link.id
        assert row.event_id == receipt.event_id
    by_channel = {row.channel: row for row in rows}
    assert mail.reference == f"n-{by_channel[Channel.EMAIL].id:08d}"
    assert text.reference == f"n-{by_channel[Channel.SMS].id:08d}"

    records = disclosure_records(engine)
    assert sorted(r.notification_id or 0 for r in records) == sorted(r.id or 0 for r in rows)
    for record in records:
        row = next(n for n in rows if n.id == record.notification_id)
        assert record.recipient_kind == "victim"
        assert recipient_of(engine, record.recipient_ref) == ("victim", str(victim.id))
        assert record.channel == row.channel
        assert record.audience == "victim_verified"
        assert record.case_id == receipt.case_id
        assert record.event_id == receipt.event_id
        assert record.fields_released
        assert "event.event_type" in record.fields_released
        assert "subject.first_name" in record.fields_released
        withheld = {entry["field"] for entry in record.fields_withheld}
        assert {"event.notes", "case.officer_name", "subject.a_number"} <= withheld
        assert not withheld & set(record.fields_released)
        assert record.policy_version == policy.version
        assert record.policy_sha256 == policy.sha256

    # Running again finds nothing due and changes nothing.
    assert run_once(ctx) == 0
    assert len(email_out.calls) == 1
    assert len(sms_out.calls) == 1
    assert len(disclosure_records(engine)) == 2
    again = notifications(engine)
    assert [(r.status, r.sent_at, r.attempts) for r in again] == [
        (r.status, r.sent_at, r.attempts) for r in rows
    ]


def test_spanish_speaker_is_written_to_in_spanish(
    ctx: WorkerContext, policy: Policy, email_out: RecordingEmailSender
) -> None:
    register(ctx.engine, policy, language=Language.SPANISH)
    ingest(ctx.engine, policy, booking())

    assert run_once(ctx) == 1

    (mail,) = email_out.calls
    assert headline("custody.booked", "es") in mail.text
    assert "Este es un aviso" in mail.text
    assert "Aviso de VOICE" in mail.subject


def test_marked_and_harmful_fields_appear_in_no_message(
    ctx: WorkerContext,
    policy: Policy,
    email_out: RecordingEmailSender,
    sms_out: RecordingSmsSender,
) -> None:
    engine = ctx.engine
    register(engine, policy, phone=VICTIM_PHONE, notify_sms=True)
    ingest(engine, policy, booking())
    release = event(
        "custody.released",
        occurred_at="2026-11-09T16:40:00Z",
        case={
            "custody_status": "released",
            "release_type": "order_of_supervision",
            "release_address": RELEASE_ADDRESS,
        },
        markings={"/case/release_address": "CUI//SP-PRVCY"},
    )
    assert ingest(engine, policy, release).notifications == 2

    assert run_once(ctx) == 4

    assert len(email_out.calls) == 2
    assert len(sms_out.calls) == 2
    rendered = [m.subject + "\n" + m.text for m in email_out.calls]
    rendered += [m.body for m in sms_out.calls]
    for text in rendered:
        for secret in NEVER_RENDERED:
            assert secret not in text
    # The release notice still says what may be said.
    assert any("released on an order of supervision" in m.text for m in email_out.calls)
    for record in disclosure_records(engine):
        assert "case.release_address" not in record.fields_released
        assert "event.notes" not in record.fields_released
        assert "case.officer_name" not in record.fields_released


# ----------------------------------------------------------------------------- claiming


def test_claim_leases_rows_until_the_lease_expires(ctx: WorkerContext, policy: Policy) -> None:
    engine = ctx.engine
    queued = one_queued(engine, policy)
    now = utcnow()

    with transaction(engine) as session:
        ids = claim(session=session, worker_id="w1", now=now, lease_seconds=60, limit=10)
    assert ids == [queued.id]
    row = get_notification(engine, queued.id or 0)
    assert row.status == NotificationStatus.SENDING
    assert row.claimed_by == "w1"
    assert row.claimed_until == now + timedelta(seconds=60)
    assert row.attempts == 1

    # Leased: no one else gets it, neither now nor just before the lease runs out.
    for later in (now, now + timedelta(seconds=59)):
        with transaction(engine) as session:
            assert (
                claim(session=session, worker_id="w2", now=later, lease_seconds=60, limit=10) == []
            )
    assert get_notification(engine, queued.id or 0).claimed_by == "w1"

    # Expired (w1 died mid-send): w2 takes it over.
    expired = now + timedelta(seconds=61)
    with transaction(engine) as session:
        ids = claim(session=session, worker_id="w2", now=expired, lease_seconds=60, limit=10)
    assert ids == [queued.id]
    row = get_notification(engine, queued.id or 0)
    assert row.status == NotificationStatus.SENDING
    assert row.claimed_by == "w2"
    assert row.claimed_until == expired + timedelta(seconds=60)
    assert row.attempts == 2


def test_a_taken_over_notification_is_sent_once_by_the_new_holder(
    ctx: WorkerContext, policy: Policy, email_out: RecordingEmailSender
) -> None:
    queued = one_queued(ctx.engine, policy)
    assert claim_at(ctx, utcnow()) == [queued.id]  # w1 claims, then "dies"

    w2 = dataclasses.replace(ctx, worker_id="w2")
    later = utcnow() + timedelta(seconds=ctx.settings.worker_lease_seconds + 1)
    assert claim_at(w2, later) == [queued.id]
    assert deliver(ctx, queued.id or 0) is None  # w1 wakes up: its lease is gone
    assert email_out.calls == []
    assert deliver(w2, queued.id or 0) is NotificationStatus.SENT

    assert len(email_out.calls) == 1
    assert get_notification(ctx.engine, queued.id or 0).status == NotificationStatus.SENT
    assert len(disclosure_records(ctx.engine)) == 1


def test_claim_takes_only_due_rows_in_id_order_up_to_the_limit(
    ctx: WorkerContext, policy: Policy
) -> None:
    engine = ctx.engine
    register(engine, policy)
    for day in (3, 4, 5):
        ingest(engine, policy, event(occurred_at=f"2026-11-0{day}T10:00:00Z"))
    first, second, third = notifications(engine)
    with transaction(engine) as session:
        row = session.get_one(Notification, third.id)
        row.next_attempt_at = utcnow() + timedelta(hours=1)
        session.add(row)
    now = utcnow()

    with transaction(engine) as session:
        assert claim(session=session, worker_id="w1", now=now, lease_seconds=60, limit=1) == [
            first.id
        ]
    with transaction(engine) as session:
        assert claim(session=session, worker_id="w1", now=now, lease_seconds=60, limit=10) == [
            second.id
        ]
    # Within the leases and before the deferred row is due: nothing.
    with transaction(engine) as session:
        soon = now + timedelta(seconds=30)
        assert claim(session=session, worker_id="w1", now=soon, lease_seconds=60, limit=10) == []
    # An hour on, the leases have run out and the deferred row is due: all three, in id order.
    later = now + timedelta(hours=1, seconds=1)
    with transaction(engine) as session:
        got = claim(session=session, worker_id="w1", now=later, lease_seconds=60, limit=10)
    assert got == [first.id, second.id, third.id]


def test_concurrent_claims_on_postgresql_get_disjoint_rows(
    ctx: WorkerContext, policy: Policy
) -> None:
    engine = ctx.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers with BEGIN IMMEDIATE")
    register(engine, policy)
    for day in (3, 4, 5, 6):
        ingest(engine, policy, event(occurred_at=f"2026-11-0{day}T10:00:00Z"))
    all_ids = {row.id for row in notifications(engine)}
    assert len(all_ids) == 4
    now = utcnow()

    first, second = Session(engine), Session(engine)
    try:
        taken_first = claim(session=first, worker_id="w1", now=now, lease_seconds=60, limit=2)
        # Without SKIP LOCKED the second claim would wait on the first's row locks; fail fast.
        second.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
        taken_second = claim(session=second, worker_id="w2", now=now, lease_seconds=60, limit=10)
        assert len(taken_first) == 2
        assert set(taken_first).isdisjoint(taken_second)
        assert set(taken_first) | set(taken_second) == all_ids
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()

    holders = {row.id: row.claimed_by for row in notifications(engine)}
    assert {holders[i] for i in taken_first} == {"w1"}
    assert {holders[i] for i in taken_second} == {"w2"}


def test_final_statuses_are_never_claimed_again(ctx: WorkerContext, policy: Policy) -> None:
    engine = ctx.engine
    register(engine, policy)
    finals = sorted(FINAL_STATUSES)
    for day, _ in enumerate(finals, start=3):
        ingest(engine, policy, event(occurred_at=f"2026-11-{day:02d}T10:00:00Z"))
    long_ago = utcnow() - timedelta(days=1)
    with transaction(engine) as session:
        rows = session.exec(select(Notification).order_by(col(Notification.id))).all()
        assert len(rows) == len(finals)
        for row, status in zip(rows, finals, strict=True):
            # A stale lease and a past due time, so only the status keeps them out.
            row.status = status
            row.claimed_by = "w0"
            row.claimed_until = long_ago
            row.next_attempt_at = long_ago
            session.add(row)

    assert claim_at(ctx, utcnow() + timedelta(days=30)) == []
    assert run_once(ctx) == 0
    assert sorted(row.status for row in notifications(engine)) == finals


def test_a_sent_notification_is_not_claimed_again(
    ctx: WorkerContext, policy: Policy, email_out: RecordingEmailSender
) -> None:
    queued = one_queued(ctx.engine, policy)
    assert run_once(ctx) == 1
    sent = get_notification(ctx.engine, queued.id or 0).model_dump()
    assert sent["status"] == NotificationStatus.SENT

    assert claim_at(ctx, utcnow() + timedelta(days=30)) == []
    assert get_notification(ctx.engine, queued.id or 0).model_dump() == sent
    assert len(email_out.calls) == 1


# ----------------------------------------------------------------------------- failures


def test_retryable_failure_puts_the_row_back_for_later(ctx: WorkerContext, policy: Policy) -> None:
    queued = one_queued(ctx.engine, policy)
    failing = FailingEmailSender(DeliveryError("smtp.421", retryable=True))
    worker = dataclasses.replace(ctx, email=failing)

    assert run_once(worker) == 1

    row = get_notification(ctx.engine, queued.id or 0)
    assert failing.calls == 1
    assert row.status == NotificationStatus.CREATED
    assert row.next_attempt_at > queued.next_attempt_at
    assert row.last_error == "smtp.421"
    assert row.claimed_by is None
    assert row.claimed_until is None
    assert row.attempts == 1
    assert row.sent_at is None
    assert disclosure_records(ctx.engine) == []
    # Not due yet, so an immediate second pass leaves it alone.
    assert run_once(worker) == 0
    assert failing.calls == 1


def test_non_retryable_failure_is_permanent(ctx: WorkerContext, policy: Policy) -> None:
    queued = one_queued(ctx.engine, policy)
    failing = FailingEmailSender(DeliveryError("smtp.550", retryable=False))
    worker = dataclasses.replace(ctx, email=failing)

    assert run_once(worker) == 1

    row = get_notification(ctx.engine, queued.id or 0)
    assert row.status == NotificationStatus.PERMANENT_FAILURE
    assert row.last_error == "smtp.550"
    assert row.claimed_by is None
    assert disclosure_records(ctx.engine) == []
    assert claim_at(worker, utcnow() + timedelta(days=30)) == []
    assert failing.calls == 1


def test_retryable_failures_end_in_technical_failure_after_the_budget(
    ctx: WorkerContext, policy: Policy, settings: Settings
) -> None:
    queued = one_queued(ctx.engine, policy)
    failing = FailingEmailSender(DeliveryError("smtp.421", retryable=True))
    budget = settings.model_copy(update={"worker_max_attempts": 3})
    worker = dataclasses.replace(ctx, email=failing, settings=budget)

    outcomes = []
    for _ in range(3):
        due = get_notification(ctx.engine, queued.id or 0).next_attempt_at + timedelta(seconds=1)
        assert claim_at(worker, due) == [queued.id]
        outcomes.append(deliver(worker, queued.id or 0))

    assert outcomes == [
        NotificationStatus.CREATED,
        NotificationStatus.CREATED,
        NotificationStatus.TECHNICAL_FAILURE,
    ]
    row = get_notification(ctx.engine, queued.id or 0)
    assert row.status == NotificationStatus.TECHNICAL_FAILURE
    assert row.attempts == 3
    assert row.last_error == "smtp.421"
    assert failing.calls == 3
    assert claim_at(worker, utcnow() + timedelta(days=30)) == []
    assert disclosure_records(ctx.engine) == []


def test_abandoned_leases_beyond_the_budget_end_without_sending(
    ctx: WorkerContext, policy: Policy, settings: Settings, email_out: RecordingEmailSender
) -> None:
    queued = one_queued(ctx.engine, policy)
    budget = settings.model_copy(update={"worker_max_attempts": 2})
    worker = dataclasses.replace(ctx, settings=budget)
    lease = timedelta(seconds=budget.worker_lease_seconds + 1)
    now = utcnow()
    for n in range(3):  # three workers in turn claim it and die before sending
        assert claim_at(worker, now + n * lease, worker_id=f"dead{n}") == [queued.id]

    last = dataclasses.replace(worker, worker_id="dead2")
    assert deliver(last, queued.id or 0) is NotificationStatus.TECHNICAL_FAILURE
    row = get_notification(ctx.engine, queued.id or 0)
    assert row.status == NotificationStatus.TECHNICAL_FAILURE
    assert row.attempts == 3
    assert email_out.calls == []


def test_an_unexpected_adapter_error_is_retried(ctx: WorkerContext, policy: Policy) -> None:
    queued = one_queued(ctx.engine, policy)
    # The message could quote a recipient; only the exception type may be kept.
    failing = FailingEmailSender(RuntimeError(f"connection to {VICTIM_EMAIL} reset"))
    worker = dataclasses.replace(ctx, email=failing)

    assert run_once(worker) == 1

    row = get_notification(ctx.engine, queued.id or 0)
    assert row.status == NotificationStatus.CREATED
    assert row.next_attempt_at > queued.next_attempt_at
    assert row.last_error == "RuntimeError"
    assert row.claimed_by is None
    assert disclosure_records(ctx.engine) == []


# ----------------------------------------------------------------------------- cancelling


def test_a_retracted_event_is_cancelled_and_not_sent(
    ctx: WorkerContext, policy: Policy, email_out: RecordingEmailSender
) -> None:
    engine = ctx.engine
    register(engine, policy)
    assert ingest(engine, policy, booking(source_event_id="b-1")).notifications == 1
    correction = event(
        "correction",
        occurred_at="2026-11-03T08:00:00Z",
        corrects="b-1",
        case={"custody_status": "not_in_custody"},
    )
    # Nobody was told of the booking yet, so nobody is owed a correction notice.
    assert ingest(engine, policy, correction).notifications == 0

    assert run_once(ctx) == 1

    row = only_notification(engine)
    assert row.status == NotificationStatus.CANCELLED
    assert row.last_error == "event retracted"
    assert row.sent_at is None
    assert email_out.calls == []
    assert disclosure_records(engine) == []


def test_a_link_unverified_after_enqueueing_is_cancelled(
    ctx: WorkerContext, policy: Policy, email_out: RecordingEmailSender
) -> None:
    engine = ctx.engine
    _, link = register(engine, policy)
    assert ingest(engine, policy, booking()).notifications == 1
    with transaction(engine) as session:
        stored = session.get_one(VictimCaseLink, link.id)
        stored.verification_status = VerificationStatus.PENDING
        session.add(stored)

    assert run_once(ctx) == 1

    row = only_notification(engine)
    assert row.status == NotificationStatus.CANCELLED
    assert row.last_error == "recipient no longer eligible"
    assert email_out.calls == []
    assert disclosure_records(engine) == []


def test_a_subject_protected_after_enqueueing_is_cancelled(
    ctx: WorkerContext, policy: Policy, email_out: RecordingEmailSender
) -> None:
    engine = ctx.engine
    register(engine, policy)
    assert ingest(engine, policy, booking()).notifications == 1
    flagged = event(
        "custody.transferred",
        occurred_at="2026-11-04T10:00:00Z",
        subject={"flags": {"protected_1367": True}},
    )
    assert ingest(engine, policy, flagged).notifications == 0

    assert run_once(ctx) == 1

    row = only_notification(engine)
    assert row.status == NotificationStatus.CANCELLED
    assert row.last_error == "nothing disclosable"
    assert email_out.calls == []
    assert disclosure_records(engine) == []


# ----------------------------------------------------------------------------- leases lost


def test_finish_refuses_a_row_this_worker_no_longer_holds(
    ctx: WorkerContext, policy: Policy
) -> None:
    queued = one_queued(ctx.engine, policy)
    now = utcnow()
    assert claim_at(ctx, now) == [queued.id]
    takeover = now + timedelta(seconds=ctx.settings.worker_lease_seconds + 1)
    assert claim_at(ctx, takeover, worker_id="w2") == [queued.id]

    with transaction(ctx.engine) as session:
        moved = _finish(
            session, ctx, queued.id or 0, status=NotificationStatus.SENT, provider_ref="x"
        )
    assert moved is False
    row = get_notification(ctx.engine, queued.id or 0)
    assert row.status == NotificationStatus.SENDING
    assert row.claimed_by == "w2"
    assert row.provider_ref is None


def test_deliver_returns_none_and_records_nothing_when_the_lease_is_lost_mid_send(
    ctx: WorkerContext, policy: Policy
) -> None:
    queued = one_queued(ctx.engine, policy)
    assert claim_at(ctx, utcnow()) == [queued.id]
    takeover = utcnow() + timedelta(seconds=ctx.settings.worker_lease_seconds + 1)

    class SlowEmailSender:
        """While this send hangs, the lease runs out and another worker claims the row."""

        def __init__(self) -> None:
            self.calls = 0

        def send(self, *, message: OutgoingEmail) -> str:
            self.calls += 1
            assert claim_at(ctx, takeover, worker_id="w2") == [queued.id]
            return "slow-ref"

    slow = SlowEmailSender()
    assert deliver(dataclasses.replace(ctx, email=slow), queued.id or 0) is None

    assert slow.calls == 1
    row = get_notification(ctx.engine, queued.id or 0)
    assert row.status == NotificationStatus.SENDING
    assert row.claimed_by == "w2"
    assert row.provider_ref is None
    assert row.sent_at is None
    assert disclosure_records(ctx.engine) == []


# ----------------------------------------------------------------------------- the loop


def test_run_worker_once_drains_everything_and_returns_the_count(
    ctx: WorkerContext, policy: Policy, settings: Settings, email_out: RecordingEmailSender
) -> None:
    engine = ctx.engine
    register(engine, policy)
    for day in (3, 4, 5, 6, 7):
        ingest(engine, policy, event(occurred_at=f"2026-11-0{day}T10:00:00Z"))
    small_batches = dataclasses.replace(
        ctx, settings=settings.model_copy(update={"worker_batch_size": 2})
    )

    assert run_worker(small_batches, stop=threading.Event(), once=True) == 5

    assert {row.status for row in notifications(engine)} == {NotificationStatus.SENT}
    assert len(email_out.calls) == 5
    assert len(disclosure_records(engine)) == 5
    assert run_worker(small_batches, stop=threading.Event(), once=True) == 0


def test_run_worker_with_file_adapters_from_settings_writes_the_outbox(
    committed_engine: Engine, policy: Policy, settings: Settings
) -> None:
    files = settings.model_copy(
        update={"email_adapter": EmailAdapterKind.FILE, "sms_adapter": SmsAdapterKind.FILE}
    )
    register(committed_engine, policy, phone=VICTIM_PHONE, notify_sms=True)
    ingest(committed_engine, policy, booking())
    worker = make_context(engine=committed_engine, settings=files, policy=policy)

    assert run_worker(worker, stop=threading.Event(), once=True) == 2

    emails = list((files.outbox_dir / "email").glob("*.eml"))
    texts = list((files.outbox_dir / "sms").glob("*.json"))
    assert len(emails) == 1
    assert len(texts) == 1
    parsed = BytesParser(policy=email_policy.default).parsebytes(emails[0].read_bytes())
    assert parsed["To"] == VICTIM_EMAIL
    for row in notifications(committed_engine):
        assert row.status == NotificationStatus.SENT
        assert row.provider_ref in {emails[0].name, texts[0].name}


def test_background_worker_delivers_a_queued_notification(
    ctx: WorkerContext, policy: Policy, email_out: RecordingEmailSender
) -> None:
    engine = ctx.engine
    register(engine, policy)
    worker = BackgroundWorker(ctx)
    worker.start()
    try:
        ingest(engine, policy, booking())
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline:
            status = only_notification(engine).status
            if status == NotificationStatus.SENT:
                break
            time.sleep(0.05)
    finally:
        worker.stop()
    assert status == NotificationStatus.SENT
    assert len(email_out.calls) == 1
    assert len(disclosure_records(engine)) == 1
    assert not worker._thread.is_alive()


@pytest.mark.parametrize("retryable", [True, False], ids=["retryable", "permanent"])
def test_deliver_returns_none_when_the_lease_is_lost_during_a_failed_send(
    ctx: WorkerContext, policy: Policy, retryable: bool
) -> None:
    queued = one_queued(ctx.engine, policy)
    assert claim_at(ctx, utcnow()) == [queued.id]
    takeover = utcnow() + timedelta(seconds=ctx.settings.worker_lease_seconds + 1)

    class SlowFailingEmailSender:
        """The lease runs out while this send hangs; then the provider refuses it."""

        def send(self, *, message: OutgoingEmail) -> str:
            assert claim_at(ctx, takeover, worker_id="w2") == [queued.id]
            raise DeliveryError("smtp.timeout", retryable=retryable)

    outcome = deliver(dataclasses.replace(ctx, email=SlowFailingEmailSender()), queued.id or 0)

    # The row is w2's now and untouched by w1's failure...
    row = get_notification(ctx.engine, queued.id or 0)
    assert row.status == NotificationStatus.SENDING
    assert row.claimed_by == "w2"
    assert row.last_error is None
    assert disclosure_records(ctx.engine) == []
    # ...so w1 must not report a status it did not set ("None if the lease was lost").
    assert outcome is None


def test_deliver_returns_none_when_a_spent_budget_meets_a_lost_lease(
    ctx: WorkerContext, policy: Policy, settings: Settings, email_out: RecordingEmailSender
) -> None:
    queued = one_queued(ctx.engine, policy)
    worker = dataclasses.replace(
        ctx, settings=settings.model_copy(update={"worker_max_attempts": 1})
    )
    now = utcnow()
    assert claim_at(worker, now) == [queued.id]  # w1: attempt 1
    takeover = now + timedelta(seconds=worker.settings.worker_lease_seconds + 1)
    assert claim_at(worker, takeover, worker_id="w2") == [queued.id]  # w2: attempt 2

    # w1 wakes up late; the row is w2's, so w1 moved nothing and must say so.
    outcome = deliver(worker, queued.id or 0)

    row = get_notification(ctx.engine, queued.id or 0)
    assert row.status == NotificationStatus.SENDING
    assert row.claimed_by == "w2"
    assert email_out.calls == []
    assert outcome is None


def test_deliver_returns_none_when_the_lease_is_lost_before_a_cancel(
    ctx: WorkerContext,
    policy: Policy,
    email_out: RecordingEmailSender,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = ctx.engine
    register(engine, policy)
    ingest(engine, policy, booking(source_event_id="b-1"))
    ingest(engine, policy, event("correction", occurred_at="2026-11-03T08:00:00Z", corrects="b-1"))
    queued = only_notification(engine)
    assert claim_at(ctx, utcnow()) == [queued.id]

    real_prepare = tasks._prepare

    def prepare_then_lose_the_lease(
        session: Session, worker: WorkerContext, notification_id: int
    ) -> _Prepared | QuietUntil | str:
        outcome = real_prepare(session, worker, notification_id)
        # Between this read and the cancel, the lease runs out and w2 takes the row over.
        row = session.get_one(Notification, notification_id)
        row.claimed_by = "w2"
        session.add(row)
        return outcome

    monkeypatch.setattr(tasks, "_prepare", prepare_then_lose_the_lease)

    outcome = deliver(ctx, queued.id or 0)

    row = get_notification(engine, queued.id or 0)
    assert row.status == NotificationStatus.SENDING
    assert row.claimed_by == "w2"
    assert email_out.calls == []
    assert outcome is None
