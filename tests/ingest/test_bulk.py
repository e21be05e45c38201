"""Bulk ingest: a batch ends exactly where the same events sent one at a time end.

Each scenario runs twice in the same database, once event by event and once as batches (small
ones, so that a scenario spans several), each inside a savepoint that is rolled back. The two
worlds are compared by their natural keys: receipts, subjects and cases, notifications, partner
deliveries and the accounting of disclosures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, func, select

from tests.factories import booking, event, victim_with_link
from voice.audit.models import DisclosureRecord
from voice.cases.models import Case, CaseEvent, Subject
from voice.database import OutOfOrder, insert_numbered, insert_rows
from voice.disclosure.policy import Policy
from voice.ingest import apply, bulk, freshness
from voice.ingest.service import BatchResult, ingest_batch, ingest_event
from voice.ingest.validation import InvalidEvent
from voice.notify.models import MassEventPause, Notification
from voice.victims.models import VictimCaseLink
from voice.webhooks import service as webhook_service
from voice.webhooks.models import EndpointCreate, WebhookDelivery, WebhookEndpoint

Snapshot = dict[str, Any]


def one_by_one(session: Session, policy: Policy, candidates: list[Any]) -> list[Any]:
    outcomes: list[Any] = []
    for candidate in candidates:
        try:
            receipt = ingest_event(session=session, candidate=candidate, policy=policy)
        except InvalidEvent as exc:
            outcomes.append(("rejected", sorted(p.pointer for p in exc.problems)))
        else:
            outcomes.append((receipt.status, receipt.notifications))
    return outcomes


def batched(size: int) -> Callable[[Session, Policy, list[Any]], list[Any]]:
    def run(session: Session, policy: Policy, candidates: list[Any]) -> list[Any]:
        results = ingest_batch(
            session=session, candidates=candidates, policy=policy, batch_size=size
        )
        return [outcome(r) for r in results]

    return run


def outcome(result: BatchResult) -> Any:
    if result.receipt is None:
        return ("rejected", sorted(p.pointer for p in result.problems))
    return (result.receipt.status, getattr(result.receipt, "notifications", None))


def rank(ids: Sequence[int | None]) -> dict[int | None, int]:
    return {id_: n for n, id_ in enumerate(sorted(i for i in ids if i is not None))}


def snapshot(session: Session) -> Snapshot:
    session.expire_all()
    seid = dict(session.exec(select(CaseEvent.id, CaseEvent.source_event_id)).all())
    numbers = dict(session.exec(select(Case.id, Case.case_number)).all())
    subjects = {
        s.upstream_id: s.model_dump(exclude={"id", "created_at", "updated_at"})
        for s in session.exec(select(Subject))
    }
    cases = {
        c.case_number: c.model_dump(exclude={"id", "subject_id", "created_at", "updated_at"})
        for c in session.exec(select(Case))
    }
    events = sorted(
        (e.source_event_id, numbers[e.case_id], seid.get(e.retracted_by_id))
        for e in session.exec(select(CaseEvent))
    )
    # Ids from PostgreSQL sequences differ from world to world: rank them instead.
    links = rank(session.exec(select(VictimCaseLink.id)).all())
    endpoints = rank(session.exec(select(WebhookEndpoint.id)).all())
    notices = sorted(
        (seid[n.event_id], links[n.link_id], n.channel, n.status, n.pause_id is not None, n.guarded)
        for n in session.exec(select(Notification))
    )
    deliveries = sorted(
        (seid[d.event_id] if d.event_id else None, endpoints[d.endpoint_id], d.event_type, d.status)
        for d in session.exec(select(WebhookDelivery))
    )
    accounting = sorted(
        (
            seid.get(r.event_id),
            numbers[r.case_id],
            r.recipient_kind,
            r.audience,
            r.channel,
            tuple(sorted(r.fields_released)),
            repr(sorted(r.fields_withheld, key=repr)),
        )
        for r in session.exec(select(DisclosureRecord))
    )
    pauses = session.exec(select(func.count()).select_from(MassEventPause)).one()
    return {
        "subjects": subjects,
        "cases": cases,
        "events": events,
        "notices": notices,
        "deliveries": deliveries,
        "accounting": accounting,
        "pauses": pauses,
    }


def both_ways(
    session: Session,
    policy: Policy,
    world: Callable[[Session], None],
    candidates: list[Any],
    *,
    sizes: tuple[int, ...] = (3, 500),
) -> tuple[list[Any], Snapshot]:
    """Run the scenario one by one and in batches of each size; assert all end alike."""
    ends = []
    for run in [one_by_one, *(batched(size) for size in sizes)]:
        savepoint = session.begin_nested()
        world(session)
        outcomes = run(session, policy, [dict(c) for c in candidates])
        ends.append((outcomes, snapshot(session)))
        savepoint.rollback()
    first = ends[0]
    for other in ends[1:]:
        assert other[0] == first[0]
        for key in first[1]:
            assert other[1][key] == first[1][key], key
    return first


def linked_world(policy: Policy, *, partner: bool = True) -> Callable[[Session], None]:
    def build(session: Session) -> None:
        ingest_event(session=session, candidate=booking(source_event_id="w-book-1"), policy=policy)
        ingest_event(
            session=session,
            candidate=booking(
                source_event_id="w-book-2", subject_id="S-T0002", case_number="CASE-T-0002"
            ),
            policy=policy,
        )
        for number in ("CASE-T-0001", "CASE-T-0002"):
            case = session.exec(select(Case).where(Case.case_number == number)).one()
            victim_with_link(
                session,
                case,
                email=f"v-{number}@example.invalid",
                phone=f"+1555010{number[-1]}",
                notify_sms=True,
            )
        if partner:
            webhook_service.create_endpoint(
                session=session,
                endpoint_in=EndpointCreate(
                    url="https://partner.example/hook",
                    partner_name="State VINE",
                    partner_contact="ops@partner.example",
                    event_types=["custody.released", "custody.transferred", "correction"],
                ),
                settings=_settings(),
            )
        session.flush()

    return build


def _settings() -> Any:
    from voice.config import get_settings

    return get_settings()


def test_a_mixed_batch_ends_as_one_at_a_time(session: Session, policy: Policy) -> None:
    bad = event("custody.released", source_event_id="m-bad", subject_id="S-T0002")
    bad["case"]["custody_status"] = "jailed"
    candidates = [
        event(
            "custody.transferred",
            source_event_id="m-1",
            occurred_at="2026-11-03T09:00:00Z",
            case={"facility_name": "Second Center"},
        ),
        bad,
        event(
            "case.hearing_scheduled",
            source_event_id="m-2",
            occurred_at="2026-11-04T09:00:00Z",
            case={"hearing_at": "2026-12-01T09:00:00Z"},
        ),
        # A late arrival: older than what the case already holds, so the case is refolded.
        event(
            "custody.transferred",
            source_event_id="m-late",
            occurred_at="2026-11-02T12:00:00Z",
            case={"facility_name": "Late Center", "facility_city": "Oldtown"},
        ),
        # The second subject turns out to be a minor: nothing about it goes out any more.
        event(
            "case.appeal_filed",
            source_event_id="m-3",
            subject_id="S-T0002",
            case_number="CASE-T-0002",
            occurred_at="2026-11-03T10:00:00Z",
            subject={"flags": {"minor": True}},
        ),
        event(
            "custody.released",
            source_event_id="m-4",
            subject_id="S-T0002",
            case_number="CASE-T-0002",
            occurred_at="2026-11-05T10:00:00Z",
        ),
        # A correction of a stored booking, and a new subject mid-batch.
        event(
            "correction",
            source_event_id="m-5",
            corrects="w-book-1",
            occurred_at="2026-11-06T10:00:00Z",
            case={"custody_status": "in_custody"},
        ),
        booking(source_event_id="m-6", subject_id="S-T0003", case_number="CASE-T-0003"),
        event("custody.released", source_event_id="m-7", occurred_at="2026-11-07T10:00:00Z"),
        # A replay, a duplicate inside the batch, and a reused id with another body.
        booking(source_event_id="w-book-2", subject_id="S-T0002", case_number="CASE-T-0002"),
        event("custody.released", source_event_id="m-7", occurred_at="2026-11-07T10:00:00Z"),
        event("custody.escaped", source_event_id="m-7", occurred_at="2026-11-07T10:00:00Z"),
    ]
    outcomes, end = both_ways(session, policy, linked_world(policy), candidates)

    statuses = [o[0] for o in outcomes]
    assert statuses == [
        "accepted",
        "rejected",
        "accepted",
        "accepted",
        "accepted",
        "accepted",
        "accepted",
        "accepted",
        "accepted",
        "duplicate",
        "duplicate",
        "rejected",
    ]
    assert outcomes[-1] == ("rejected", ["/source_event_id"])
    assert outcomes[5] == ("accepted", 0)  # the minor's release tells nobody
    assert end["cases"]["CASE-T-0001"]["facility_name"] == "Second Center"
    assert end["notices"], "the scenario queues notices"
    assert end["deliveries"], "the scenario queues partner deliveries"
    assert end["accounting"], "partner deliveries are accounted for"


def test_a_burst_trips_the_guard_alike(session: Session, policy: Policy) -> None:
    def world(session: Session) -> None:
        for n in range(12):
            ingest_event(
                session=session,
                candidate=booking(
                    source_event_id=f"g-book-{n}", subject_id=f"S-G{n:04d}", case_number=f"C-G{n}"
                ),
                policy=policy,
            )
            case = session.exec(select(Case).where(Case.case_number == f"C-G{n}")).one()
            victim_with_link(session, case, email=f"g{n}@example.invalid")
        session.flush()

    candidates = [
        event(
            "custody.released",
            source_event_id=f"g-{n}",
            subject_id=f"S-G{n:04d}",
            case_number=f"C-G{n}",
            occurred_at="2026-11-09T09:00:00Z",
        )
        for n in range(12)
    ]
    _, end = both_ways(session, policy, world, candidates, sizes=(5, 500))
    assert end["pauses"] == 1
    assert any(paused for *_, paused, _ in end["notices"])


def test_an_event_corrected_earlier_in_the_batch_lands_retracted(
    session: Session, policy: Policy
) -> None:
    candidates = [
        event(
            "correction",
            source_event_id="r-fix",
            corrects="r-late",
            occurred_at="2026-11-10T08:00:00Z",
        ),
        event("custody.released", source_event_id="r-late", occurred_at="2026-11-09T16:40:00Z"),
        event("case.appeal_filed", source_event_id="r-after", occurred_at="2026-11-11T08:00:00Z"),
    ]
    outcomes, end = both_ways(session, policy, linked_world(policy, partner=False), candidates)
    assert [o[0] for o in outcomes] == ["accepted"] * 3
    assert ("r-late", "CASE-T-0001", "r-fix") in end["events"]


def test_a_database_failure_isolates_the_event_and_keeps_its_neighbours(
    session: Session, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    linked_world(policy, partner=False)(session)
    real = apply.store
    calls: list[int] = []

    def store_fails_for_one(**kwargs: Any) -> list[apply.Stored]:
        calls.append(len(kwargs["events"]))
        if any(new.key[1] == "f-2" for new in kwargs["events"]):
            real(**kwargs)  # half written, then refused: all of it must go
            raise OperationalError("INSERT", {}, Exception("refused"))
        return real(**kwargs)

    monkeypatch.setattr(apply, "store", store_fails_for_one)
    candidates = [
        event(
            "custody.transferred",
            source_event_id=f"f-{n}",
            occurred_at=f"2026-11-0{n + 3}T09:00:00Z",
        )
        for n in range(1, 4)
    ]
    results = ingest_batch(session=session, candidates=candidates, policy=policy)

    assert calls[0] == 3, "the whole batch was tried together first"
    assert [r.as_dict()["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1].problems[0].message == bulk._NOT_STORED
    stored = set(session.exec(select(CaseEvent.source_event_id)).all())
    assert {"f-1", "f-3"} <= stored
    assert "f-2" not in stored
    accepted = [r.receipt.event_id for r in results if r.receipt is not None]  # type: ignore[union-attr]
    notices = session.exec(
        select(func.count()).where(col(Notification.event_id).in_(accepted))
    ).one()
    assert notices == 4  # email and SMS for each accepted event, none for the refused one
    assert (
        session.exec(
            select(func.count())
            .select_from(Notification)
            .where(col(Notification.event_id).not_in(accepted))
        ).one()
        == 0
    )


def test_a_crash_mid_batch_leaves_nothing_half_written(
    session: Session, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    linked_world(policy, partner=False)(session)
    before = snapshot(session)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the process died here")

    # At the very end of the batch: events, notices, subjects and cases are written by then.
    monkeypatch.setattr(freshness, "seen", crash)
    savepoint = session.begin_nested()
    with pytest.raises(RuntimeError):
        ingest_batch(
            session=session,
            candidates=[
                event(
                    "custody.released",
                    source_event_id=f"x-{n}",
                    occurred_at=f"2026-11-0{n + 3}T09:00:00Z",
                )
                for n in range(1, 4)
            ],
            policy=policy,
        )
    savepoint.rollback()
    assert snapshot(session) == before


def test_subjects_and_cases_are_found_as_one_at_a_time_finds_them(
    session: Session, policy: Policy
) -> None:
    """Without a case number an event joins the subject's latest case, also one made earlier
    in the same batch."""
    candidates = [
        booking(source_event_id="c-1", subject_id="S-C1", case_number="C-1"),
        event(
            "case.appeal_filed",
            source_event_id="c-2",
            subject_id="S-C1",
            case_number="C-2",
            occurred_at="2026-11-03T09:00:00Z",
        ),
        event(
            "custody.transferred",
            source_event_id="c-3",
            subject_id="S-C1",
            occurred_at="2026-11-04T09:00:00Z",
        ),
    ]
    del candidates[2]["case"]["case_number"]
    _, end = both_ways(session, policy, lambda s: None, candidates)
    assert [(e[0], e[1]) for e in end["events"]] == [("c-1", "C-1"), ("c-2", "C-2"), ("c-3", "C-2")]


def _many(count: int) -> list[dict[str, Any]]:
    """``count`` events over both linked subjects, every fifth one a late arrival."""
    kinds = ("custody.transferred", "case.appeal_filed")
    return [
        event(
            kinds[n % 2],
            source_event_id=f"m-{n}",
            subject_id=("S-T0001", "S-T0002")[n % 2],
            case_number=("CASE-T-0001", "CASE-T-0002")[n % 2],
            occurred_at=f"2026-11-{3 + n // 5 if n % 5 else 2:02d}T09:{n:02d}:00Z",
        )
        for n in range(count)
    ]


def test_a_large_batch_ends_as_one_at_a_time(session: Session, policy: Policy) -> None:
    """Enough events and notices that PostgreSQL copies them in rather than inserting them."""
    candidates = _many(44)
    outcomes, _ = both_ways(session, policy, linked_world(policy, partner=False), candidates)
    assert [o[0] for o in outcomes] == ["accepted"] * len(candidates)


def test_events_numbered_out_of_order_go_one_at_a_time(
    session: Session, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the database number a batch's events out of their order, the batch is undone and
    its events go one at a time, each with its own result."""
    linked_world(policy, partner=False)(session)
    real = insert_numbered
    calls: list[int] = []

    def numbered_out_of_order(*args: Any, **kwargs: Any) -> list[int]:
        ids = real(*args, **kwargs)
        calls.append(len(ids))
        if len(ids) > 1:
            raise OutOfOrder("out of order")
        return ids

    monkeypatch.setattr(apply, "insert_numbered", numbered_out_of_order)
    candidates = _many(5)
    results = ingest_batch(session=session, candidates=candidates, policy=policy)

    # Numbered once for the batch; one at a time, each event is a plain insert of its own.
    assert calls == [5]
    assert [r.as_dict()["status"] for r in results] == ["accepted"] * 5
    stored = session.exec(
        select(func.count())
        .select_from(CaseEvent)
        .where(col(CaseEvent.source_event_id).like("m-%"))
    ).one()
    assert stored == 5


def test_a_refused_copy_is_the_database_error_of_an_insert(
    session: Session, policy: Policy
) -> None:
    """Many rows refused at once (PostgreSQL copies them) raise what an INSERT raises, and the
    savepoint around them rolls back as usual."""
    linked_world(policy, partner=False)(session)
    ingest_batch(session=session, candidates=_many(30), policy=policy)
    table = Notification.__table__  # type: ignore[attr-defined]
    rows = [dict(row._mapping) for row in session.execute(table.select())]
    assert len(rows) >= 30
    for row in rows:
        del row["id"]
    savepoint = session.begin_nested()
    with pytest.raises(IntegrityError):
        insert_rows(session, table, rows)
    savepoint.rollback()
    assert session.exec(select(func.count()).select_from(Notification)).one() == len(rows)
