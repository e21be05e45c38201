"""A staff message the provider refuses: retried on the schedule while the refusal is
temporary, failed when it is not, and put back uncounted while the channel's breaker is open."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import booking, case_of, victim_with_link
from tests.notify.outage import Clock, OutageEmailSender
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event
from voice.messages import delivery as staff_messages
from voice.messages import gate as messages
from voice.messages.models import StaffMessage
from voice.notify.adapters.base import DeliveryError, EmailSender, OutgoingEmail
from voice.notify.adapters.memory import MemorySmsSender
from voice.notify.tasks import WorkerContext


class RefusingEmailSender:
    """Refuses every message for good, as a 550 for an address that does not exist."""

    def send(self, *, message: OutgoingEmail) -> str:
        raise DeliveryError("smtp.550", retryable=False)


def _context(
    engine: Engine, settings: Settings, policy: Policy, email: EmailSender, clock: Clock
) -> WorkerContext:
    return WorkerContext(
        engine=engine,
        settings=settings,
        policy=policy,
        email=email,
        sms=MemorySmsSender(),
        worker_id="w-refused",
        clock=clock,
    )


def _submit(
    engine: Engine, policy: Policy, email: str = "victim@example.invalid", *, book: bool = True
) -> int:
    """A clean message to a newly linked victim of the case, booked first unless it is."""
    with transaction(engine) as session:
        if book:
            ingest_event(session=session, candidate=booking(), policy=policy)
        _, link, _ = victim_with_link(session, case_of(session), email=email)
        assert link.id is not None
        message = messages.submit(
            session=session,
            link_id=link.id,
            body="Your hearing moved.",
            author="liaison-1",
            channel="email",
        )
        assert message.id is not None
        return message.id


def _worker_clock() -> Clock:
    # Ahead of the wall clock, so that messages written during the test are already due by
    # it however slowly the test runs; from there only the test moves it.
    return Clock(utcnow() + timedelta(minutes=10))


def _row(engine: Engine, message_id: int) -> StaffMessage:
    with Session(engine) as session:
        return session.get_one(StaffMessage, message_id)


def _aware(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def test_a_temporary_refusal_is_retried_later_and_then_sent_once(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    message_id = _submit(committed_engine, policy)
    clock = _worker_clock()
    provider = OutageEmailSender(clock, up_at=clock() + timedelta(seconds=60))
    ctx = _context(committed_engine, settings, policy, provider, clock)

    assert staff_messages.run_once(ctx) == 1
    row = _row(committed_engine, message_id)
    assert (row.status, row.attempts, row.last_error) == ("ready", 1, "smtp.421")
    assert row.claimed_by is None
    assert _aware(row.next_attempt_at) > clock()
    # Not due yet: the next pass leaves it alone.
    assert staff_messages.run_once(ctx) == 0

    clock.advance(3600)
    assert staff_messages.run_once(ctx) == 1
    row = _row(committed_engine, message_id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert provider.accepted == {f"m-{message_id:08d}": 1}


def test_a_permanent_refusal_fails_the_message_and_keeps_why(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    message_id = _submit(committed_engine, policy)
    clock = _worker_clock()
    ctx = _context(committed_engine, settings, policy, RefusingEmailSender(), clock)

    assert staff_messages.run_once(ctx) == 1
    row = _row(committed_engine, message_id)
    assert (row.status, row.last_error, row.sent_at) == ("failed", "smtp.550", None)
    clock.advance(3600)
    assert staff_messages.run_once(ctx) == 0


def test_an_open_breaker_puts_a_message_back_without_counting_the_attempt(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    first = _submit(committed_engine, policy)
    clock = _worker_clock()
    provider = OutageEmailSender(clock, up_at=clock() + timedelta(hours=1))
    one_failure_opens = settings.model_copy(update={"breaker_failure_threshold": 1})
    ctx = _context(committed_engine, one_failure_opens, policy, provider, clock)

    assert staff_messages.run_once(ctx) == 1
    assert provider.refused == 1
    assert _row(committed_engine, first).attempts == 1

    second = _submit(committed_engine, policy, email="another@example.invalid", book=False)
    assert staff_messages.run_once(ctx) == 1
    # The breaker held it back: never offered to the provider, and its claim does not count
    # as an attempt.
    assert provider.refused == 1
    held = _row(committed_engine, second)
    assert (held.status, held.attempts, held.claimed_by) == ("ready", 0, None)
    assert _aware(held.next_attempt_at) > clock()
