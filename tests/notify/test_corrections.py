"""A correction reaches exactly those who may have heard the retracted notice."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests.factories import booking, case_of, event, victim_with_link
from voice.cases.models import CaseEvent
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event
from voice.notify import tasks
from voice.notify.adapters.memory import MemoryEmailSender, MemorySmsSender
from voice.notify.models import Notification, NotificationStatus


def _context(engine: Engine, settings: Settings, policy: Policy) -> tasks.WorkerContext:
    return tasks.WorkerContext(
        engine=engine,
        settings=settings,
        policy=policy,
        email=MemoryEmailSender(),
        sms=MemorySmsSender(),
        worker_id="w-corrections",
    )


def _statuses(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(Notification).order_by(col(Notification.id))).all()
        return [(str(n.event_id), n.status) for n in rows]


def test_sent_notice_is_corrected_in_the_recipients_language(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    ctx = _context(committed_engine, settings, policy)
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        victim_with_link(session, case_of(session))
        ingest_event(
            session=session,
            policy=policy,
            candidate=event(
                "custody.released", source_event_id="rel-1", case={"custody_status": "released"}
            ),
        )
    tasks.run_once(ctx)
    with transaction(committed_engine) as session:
        receipt = ingest_event(
            session=session,
            policy=policy,
            candidate=event("correction", corrects="rel-1", case={"custody_status": "in_custody"}),
        )
    assert receipt.notifications == 1
    tasks.run_once(ctx)
    assert [s for _, s in _statuses(committed_engine)] == ["sent", "sent"]
    assert isinstance(ctx.email, MemoryEmailSender)
    bodies = [m.text for m in ctx.email.outbox.values()]
    assert "had an earlier notice corrected" in bodies[1]


def test_no_correction_for_a_notice_that_never_went_out(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    ctx = _context(committed_engine, settings, policy)
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        victim_with_link(session, case_of(session))
        ingest_event(
            session=session,
            policy=policy,
            candidate=event(
                "custody.released", source_event_id="rel-2", case={"custody_status": "released"}
            ),
        )
    # A worker has claimed the release notice (so it counts as possibly told)...
    with transaction(committed_engine) as session:
        claimed = tasks.claim(
            session=session, worker_id=ctx.worker_id, now=utcnow(), lease_seconds=60, limit=10
        )
    assert len(claimed) == 1
    # ...when the correction arrives; the correction notice is queued.
    with transaction(committed_engine) as session:
        receipt = ingest_event(
            session=session,
            policy=policy,
            candidate=event("correction", corrects="rel-2", case={"custody_status": "in_custody"}),
        )
    assert receipt.notifications == 1
    # The release notice is then cancelled at send time, because its event was retracted...
    assert tasks.deliver(ctx, claimed[0]) == NotificationStatus.CANCELLED
    # ...so the correction has nothing to correct and is cancelled too: nothing was sent.
    tasks.run_once(ctx)
    assert [s for _, s in _statuses(committed_engine)] == ["cancelled", "cancelled"]
    assert isinstance(ctx.email, MemoryEmailSender)
    assert ctx.email.outbox == {}


def test_a_correction_is_told_in_spanish_and_accounted_for(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    from voice.audit.models import DisclosureRecord
    from voice.notify.adapters.memory import MemoryEmailSender as Outbox
    from voice.victims.models import Language

    ctx = _context(committed_engine, settings, policy)
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        victim_with_link(session, case_of(session), language=Language.SPANISH)
        ingest_event(
            session=session,
            policy=policy,
            candidate=event(
                "custody.released", source_event_id="rel-3", case={"custody_status": "released"}
            ),
        )
    tasks.run_once(ctx)
    with transaction(committed_engine) as session:
        receipt = ingest_event(
            session=session,
            policy=policy,
            candidate=event("correction", corrects="rel-3", case={"custody_status": "in_custody"}),
        )
    tasks.run_once(ctx)

    assert isinstance(ctx.email, Outbox)
    correction = ctx.email.outbox[max(ctx.email.outbox)]
    assert "no era correcto" in correction.text
    assert "ha sido liberado de la custodia migratoria" in correction.text  # what it corrects
    with Session(committed_engine) as session:
        records = session.exec(
            select(DisclosureRecord).where(DisclosureRecord.event_id.is_not(None))  # type: ignore[union-attr]
        ).all()
        correction_id = receipt.event_id
        retracted_id = session.exec(
            select(CaseEvent.id).where(CaseEvent.source_event_id == "rel-3")
        ).one()
    events_accounted = sorted((r.event_id, tuple(r.fields_released)) for r in records)
    # The correction's own release, and the retracted event's type it names, both recorded.
    assert (retracted_id, ("event.event_type",)) in events_accounted
    assert any(event_id == correction_id for event_id, _ in events_accounted)
