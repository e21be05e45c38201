"""Ingest: validate, deduplicate, store, derive, and enqueue, one event at a time.

Each event is applied inside its own savepoint, so an event either lands whole (with every
notification it causes) or not at all. Batches go through ``voice.ingest.bulk``, which stores
many events at once with the same outcome.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from voice import tracing
from voice.cases.models import CaseEvent
from voice.database import SessionStatement
from voice.disclosure.policy import Policy
from voice.ingest import apply, hostile
from voice.ingest import quarantine as spillage
from voice.ingest.validation import InvalidEvent, Problem, validate_event
from voice.notify import service as notify_service

log = logging.getLogger(__name__)

# Tries at storing one event when concurrent ingest creates its subject or case first.
_ATTEMPTS = 3


class IngestConflict(RuntimeError):
    """Concurrent ingest kept conflicting with this event."""


@dataclass(frozen=True)
class Receipt:
    receipt_id: str
    source: str
    source_event_id: str
    event_id: int
    case_id: int
    received_at: datetime
    notifications: int
    status: Literal["accepted", "duplicate"]

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["received_at"] = self.received_at.isoformat()
        return body


@dataclass(frozen=True)
class QuarantineReceipt:
    """The answer to a spilled event: nothing of the event, not even its own identifiers."""

    receipt_id: str
    received_at: datetime
    rule_id: str
    status: Literal["quarantined"] = "quarantined"

    def as_dict(self) -> dict[str, Any]:
        return {
            "receipt_id": self.receipt_id,
            "status": self.status,
            "received_at": self.received_at.isoformat(),
            "rule_id": self.rule_id,
        }


class EventIdReused(InvalidEvent):
    """The source already used this source_event_id for an event with a different body.

    A kind of InvalidEvent, so every caller that refuses a bad event refuses this one too; the
    API answers it with 409. The stored event stands: an id names one event for good.
    """

    def __init__(self, source_event_id: str) -> None:
        super().__init__(
            [Problem("/source_event_id", "already used by this source for a different event")]
        )
        self.args = (f"source_event_id {source_event_id!r} was already used for another event",)


class EventQuarantined(Exception):
    """The event carried a classified marking and was quarantined: commit, then answer with
    ``receipt``. The exception holds nothing of the event."""

    def __init__(self, receipt: QuarantineReceipt) -> None:
        super().__init__(f"event quarantined ({receipt.receipt_id})")
        self.receipt = receipt


@dataclass(frozen=True)
class BatchResult:
    index: int
    receipt: Receipt | QuarantineReceipt | None = None
    problems: tuple[Problem, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        if self.receipt is not None:
            return {
                "index": self.index,
                "status": self.receipt.status,
                "receipt": self.receipt.as_dict(),
            }
        return {
            "index": self.index,
            "status": "rejected",
            "errors": [p.as_dict() for p in self.problems],
        }


def payload_digest(event: dict[str, Any]) -> str:
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _receipt(
    session: Session,
    event: CaseEvent,
    status: Literal["accepted", "duplicate"],
    notifications: int | None = None,
) -> Receipt:
    assert event.id is not None
    return Receipt(
        receipt_id=event.receipt_id,
        source=event.source,
        source_event_id=event.source_event_id,
        event_id=event.id,
        case_id=event.case_id,
        received_at=event.received_at,
        notifications=(
            notifications
            if notifications is not None
            else notify_service.count_for_event(session=session, event_id=event.id)
        ),
        status=status,
    )


# Built once: the dedupe lookup runs for every event, and building a statement costs more
# than running it.
_BY_KEY = select(CaseEvent).where(
    CaseEvent.source == sa.bindparam("source"),
    CaseEvent.source_event_id == sa.bindparam("source_event_id"),
)


def _existing(session: Session, source: str, source_event_id: str) -> CaseEvent | None:
    return session.exec(
        _BY_KEY, params={"source": source, "source_event_id": source_event_id}
    ).first()


# The dedupe lookup, and whether a stored correction already retracts the event, in one
# statement: each half is a lookup on an index of its own. In Core, and only the two ids: it
# finds nothing for nearly every event, and the ORM's setup costs more than the lookup; a
# replay loads its stored event on its own.
_TABLE = CaseEvent.__table__  # type: ignore[attr-defined]
_KEY_OR_CORRECTS = SessionStatement(
    sa.union_all(
        sa.select(_TABLE.c.source_event_id, _TABLE.c.corrects).where(
            _TABLE.c.source == sa.bindparam("source"),
            _TABLE.c.source_event_id == sa.bindparam("source_event_id"),
        ),
        sa.select(_TABLE.c.source_event_id, _TABLE.c.corrects).where(
            _TABLE.c.source == sa.bindparam("source"),
            _TABLE.c.corrects == sa.bindparam("source_event_id"),
        ),
    )
)


def _existing_or_corrected(
    session: Session, source: str, source_event_id: str
) -> tuple[CaseEvent | None, bool]:
    """The stored event under this key, if any, and whether a stored correction names it."""
    stored = corrected = False
    params = {"source": source, "source_event_id": source_event_id}
    for found_id, corrects in _KEY_OR_CORRECTS.execute(session, params).rows:
        stored = stored or found_id == source_event_id
        corrected = corrected or corrects == source_event_id
    if not stored:
        return None, corrected
    existing = session.exec(_BY_KEY, params=params).first()
    return existing, corrected


def _replay(session: Session, existing: CaseEvent, digest: str) -> Receipt:
    """An identical replay gets its original receipt; a different body under the same id is
    refused rather than dropped in silence."""
    if existing.payload_sha256 != digest:
        raise EventIdReused(existing.source_event_id)
    return _receipt(session, existing, "duplicate")


def _quarantine(session: Session, candidate: Any, rule_id: str) -> QuarantineReceipt:
    row, _ = spillage.quarantine(session=session, candidate=candidate, rule_id=rule_id)
    return QuarantineReceipt(row.quarantine_id, row.received_at, row.rule_id)


def ingest_event(*, session: Session, candidate: Any, policy: Policy) -> Receipt:
    """Apply one event (``_ingest_event``) inside the span that starts its trace: the notices
    it queues carry that trace on to the worker."""
    with tracing.tracer.start_as_current_span("ingest.event") as span:
        receipt = _ingest_event(session=session, candidate=candidate, policy=policy)
        span.set_attribute("voice.event_id", receipt.event_id)
        span.set_attribute("voice.case_id", receipt.case_id)
        span.set_attribute("voice.receipt_status", receipt.status)
        return receipt


def admit(*, session: Session, candidate: Any) -> tuple[dict[str, Any], str]:
    """Screen, scan and validate one candidate; return the event and its digest.

    Spillage is looked for first, before validation, so that neither a stored row nor a
    validation error can carry anything of a classified event: such an event raises
    EventQuarantined once its quarantine row is written (the caller commits it).
    """
    # Before anything walks the event recursively or encodes it: nothing of a refused event is
    # stored, and its problems carry pointers only.
    hostile.screen(candidate)
    spill_rule = spillage.scan(candidate)
    if spill_rule is not None:
        raise EventQuarantined(_quarantine(session, candidate, spill_rule))
    event_in = validate_event(candidate)
    return event_in, payload_digest(event_in)


def _ingest_event(*, session: Session, candidate: Any, policy: Policy) -> Receipt:
    """Apply one event; a replay of a known (source, source_event_id) changes nothing."""
    event_in, digest = admit(session=session, candidate=candidate)
    source, source_event_id = event_in["source"], event_in["source_event_id"]
    existing, corrected = _existing_or_corrected(session, source, source_event_id)
    if existing is not None:
        return _replay(session, existing, digest)
    new = apply.NewEvent(event_in, digest, str(uuid.uuid4()))
    # What the first try read stands for it; a retry reads again.
    known: set[tuple[str, str]] | None = {new.key} if corrected else set()
    for attempt in range(_ATTEMPTS):
        try:
            with session.begin_nested():
                (stored,) = apply.store(
                    session=session,
                    events=[new],
                    policy=policy,
                    scope=apply.no_scope,
                    corrected=known,
                )
            break
        except IntegrityError:
            known = None
            # A concurrent request stored the same event first: answer with its receipt.
            existing = _existing(session, source, source_event_id)
            if existing is not None:
                return _replay(session, existing, digest)
            # Otherwise it created the same new subject or case first; go again with it there.
            if attempt == _ATTEMPTS - 1:
                # The IntegrityError's text quotes the row's values; raise without it.
                raise IngestConflict("event could not be stored after retries") from None
    event = stored.event
    log.info("event ingested id=%s case=%s type=%s", event.id, event.case_id, event.event_type)
    return _receipt(session, event, "accepted", notifications=stored.notifications)


def ingest_batch(
    *, session: Session, candidates: list[Any], policy: Policy, batch_size: int | None = None
) -> list[BatchResult]:
    """Apply a batch in the caller's transaction, ``batch_size`` events at a time (``bulk``);
    one result per candidate, in order."""
    # Imported here: the batch path falls back on this module's one-at-a-time path.
    from voice.ingest import bulk

    return bulk.ingest_batch(
        session=session, candidates=candidates, policy=policy, batch_size=batch_size
    )
