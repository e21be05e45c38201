"""Bulk ingest: a batch of events applied together, each keeping its own result.

Used by ``POST /api/v1/events`` for JSON arrays and NDJSON, and by ``voice ingest``. A batch is
cut into chunks of ``batch_size`` events. For each chunk:

1. every candidate is screened, scanned for spillage and validated on its own: a bad one is
   rejected (or quarantined) alone;
2. the valid ones are deduplicated, in one query, against stored events and against each other:
   a replay is a duplicate with the original receipt, a reused id with another body is refused
   as on the one-at-a-time path;
3. the new ones are stored together (``voice.ingest.apply``) inside one savepoint.

Should the database refuse anything in step 3 (a concurrent writer got there first, a value the
database will not store), the savepoint is rolled back and the chunk's new events go one at a
time, each in a savepoint of its own, so one bad event never fails its neighbours.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, or_, select

from voice import tracing
from voice.cases.models import CaseEvent
from voice.database import OutOfOrder
from voice.disclosure.policy import Policy
from voice.ingest import apply, service
from voice.ingest.service import BatchResult, EventIdReused, EventQuarantined, Receipt
from voice.ingest.validation import InvalidEvent, Problem
from voice.notify.models import Notification

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500

_NOT_STORED = "the event could not be stored; send it again"


@dataclass(frozen=True)
class _Fresh:
    index: int
    new: apply.NewEvent


def ingest_batch(
    *, session: Session, candidates: list[Any], policy: Policy, batch_size: int | None = None
) -> list[BatchResult]:
    """One result per candidate, in input order; see the module's docstring."""
    size = max(1, batch_size or DEFAULT_BATCH_SIZE)
    results: list[BatchResult] = []
    for start in range(0, len(candidates), size):
        chunk = candidates[start : start + size]
        with tracing.tracer.start_as_current_span("ingest.batch") as span:
            span.set_attribute("voice.batch_size", len(chunk))
            results += _chunk(session, chunk, policy, start)
    return results


def _chunk(
    session: Session, candidates: list[Any], policy: Policy, offset: int
) -> list[BatchResult]:
    results: dict[int, BatchResult] = {}
    admitted: list[_Fresh] = []
    for index, candidate in enumerate(candidates, start=offset):
        try:
            event_in, digest = service.admit(session=session, candidate=candidate)
        except InvalidEvent as exc:
            results[index] = BatchResult(index=index, problems=tuple(exc.problems))
        except EventQuarantined as exc:
            results[index] = BatchResult(index=index, receipt=exc.receipt)
        else:
            admitted.append(_Fresh(index, apply.NewEvent(event_in, digest, str(uuid.uuid4()))))

    stored = _stored(session, [f.new.key for f in admitted])
    counts = _notification_counts(session, [e.id for e in stored.values() if e.id is not None])
    new: list[_Fresh] = []
    first: dict[tuple[str, str], _Fresh] = {}
    repeats: list[tuple[_Fresh, _Fresh]] = []
    for fresh in admitted:
        key = fresh.new.key
        if key in stored:
            results[fresh.index] = _replayed(fresh, stored[key], counts)
        elif key in first:
            earlier = first[key]
            if earlier.new.digest == fresh.new.digest:
                repeats.append((fresh, earlier))
            else:
                refused = EventIdReused(key[1])
                results[fresh.index] = BatchResult(fresh.index, problems=tuple(refused.problems))
        else:
            first[key] = fresh
            new.append(fresh)

    results.update(_store(session, new, policy))
    for fresh, earlier in repeats:
        results[fresh.index] = _repeat(session, policy, fresh, results[earlier.index])
    return [results[index] for index in range(offset, offset + len(candidates))]


def _stored(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], CaseEvent]:
    if not keys:
        return {}
    by_source: dict[str, set[str]] = {}
    for source, source_event_id in keys:
        by_source.setdefault(source, set()).add(source_event_id)
    conditions = [
        sa.and_(col(CaseEvent.source) == source, col(CaseEvent.source_event_id).in_(sorted(ids)))
        for source, ids in by_source.items()
    ]
    rows = session.exec(select(CaseEvent).where(or_(*conditions)))
    return {(row.source, row.source_event_id): row for row in rows}


def _notification_counts(session: Session, event_ids: list[int]) -> dict[int, int]:
    if not event_ids:
        return {}
    rows = session.exec(
        select(Notification.event_id, func.count())
        .where(col(Notification.event_id).in_(event_ids))
        .group_by(col(Notification.event_id))
    )
    return dict(rows.all())


def _replayed(fresh: _Fresh, existing: CaseEvent, counts: dict[int, int]) -> BatchResult:
    """As ``service._replay``: the original receipt, or a refusal for a different body."""
    if existing.payload_sha256 != fresh.new.digest:
        refused = EventIdReused(existing.source_event_id)
        return BatchResult(fresh.index, problems=tuple(refused.problems))
    assert existing.id is not None
    receipt = _receipt(existing, "duplicate", counts.get(existing.id, 0))
    return BatchResult(fresh.index, receipt=receipt)


def _receipt(event: CaseEvent, status: Any, notifications: int) -> Receipt:
    assert event.id is not None
    return Receipt(
        receipt_id=event.receipt_id,
        source=event.source,
        source_event_id=event.source_event_id,
        event_id=event.id,
        case_id=event.case_id,
        received_at=event.received_at,
        notifications=notifications,
        status=status,
    )


def _event_span(event: CaseEvent) -> AbstractContextManager[object]:
    """The span that starts an event's trace: the notices it queues carry it to the worker.
    The event is stored before its span starts, so the span starts with its ids."""
    return tracing.tracer.start_as_current_span(
        "ingest.event",
        attributes={
            "voice.event_id": event.id or 0,
            "voice.case_id": event.case_id,
            "voice.receipt_status": "accepted",
        },
    )


def _store(session: Session, new: list[_Fresh], policy: Policy) -> dict[int, BatchResult]:
    if not new:
        return {}
    try:
        with session.begin_nested():
            stored = apply.store(
                session=session, events=[f.new for f in new], policy=policy, scope=_event_span
            )
    except (SQLAlchemyError, OutOfOrder):
        # Someone else stored one of these first, or the database refuses one of them: find
        # out which, one event at a time. The error's text quotes row values; it is not logged.
        log.warning("batch of %s events fell back to one at a time", len(new))
        return {f.index: _one(session, policy, f.index, f.new.payload) for f in new}
    results = {}
    for fresh, done in zip(new, stored, strict=True):
        event = done.event
        log.info("event ingested id=%s case=%s type=%s", event.id, event.case_id, event.event_type)
        results[fresh.index] = BatchResult(
            fresh.index, receipt=_receipt(event, "accepted", done.notifications)
        )
    return results


def _one(session: Session, policy: Policy, index: int, candidate: Any) -> BatchResult:
    try:
        with session.begin_nested():
            receipt = service.ingest_event(session=session, candidate=candidate, policy=policy)
    except InvalidEvent as exc:
        return BatchResult(index, problems=tuple(exc.problems))
    except EventQuarantined as exc:
        return BatchResult(index, receipt=exc.receipt)
    except (SQLAlchemyError, service.IngestConflict):
        return BatchResult(index, problems=(Problem("", _NOT_STORED),))
    return BatchResult(index, receipt=receipt)


def _repeat(session: Session, policy: Policy, fresh: _Fresh, earlier: BatchResult) -> BatchResult:
    """A second copy inside the batch: the first copy's receipt, as a duplicate."""
    receipt = earlier.receipt
    if isinstance(receipt, Receipt):
        return BatchResult(
            fresh.index,
            receipt=Receipt(**{**receipt.__dict__, "status": "duplicate"}),
        )
    # The first copy was not stored: this one gets its own try.
    return _one(session, policy, fresh.index, fresh.new.payload)
