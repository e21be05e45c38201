"""Group commit of single events: each keeps its own outcome, and nothing is answered unstored."""

from __future__ import annotations

import contextvars
import logging
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from tests.factories import booking, event
from voice import logs
from voice.cases.models import CaseEvent
from voice.disclosure.policy import Policy
from voice.ingest import service
from voice.ingest.group_commit import EventWriter, _Waiting
from voice.ingest.models import QuarantinedEvent
from voice.ingest.validation import InvalidEvent


def _waiting(candidate: Any, policy: Policy) -> _Waiting:
    return _Waiting(candidate, policy, contextvars.copy_context())


def _stored_ids(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(CaseEvent.source_event_id)).all())


def test_a_group_commits_once_and_each_event_keeps_its_own_outcome(
    committed_engine: Engine, policy: Policy
) -> None:
    first = booking(source_event_id="ev-1")
    reused = {**first, "occurred_at": "2026-11-03T09:15:00Z"}  # same id, another body
    group = [
        _waiting(first, policy),
        _waiting({"source": "enforce", "source_event_id": "ev-bad"}, policy),
        _waiting(event(source_event_id="ev-2", notes="(S) Moved at night."), policy),
        _waiting(reused, policy),
        _waiting(event("custody.released", source_event_id="ev-3"), policy),
        _waiting(first, policy),  # a replay of the first, in the same group
    ]
    writer = EventWriter(committed_engine)
    for waiting in group:
        assert waiting.done.set_running_or_notify_cancel()
    writer._write(group)

    assert writer.batches == 1
    accepted, invalid, quarantined, conflict, released, replay = (w.done for w in group)
    assert accepted.result().status == "accepted"
    with pytest.raises(InvalidEvent) as bad:
        invalid.result()
    assert not isinstance(bad.value, service.EventIdReused)
    with pytest.raises(service.EventQuarantined):
        quarantined.result()
    with pytest.raises(service.EventIdReused):
        conflict.result()
    assert released.result().status == "accepted"
    assert replay.result().status == "duplicate"
    assert replay.result().event_id == accepted.result().event_id
    # The refused events left nothing; the quarantined one left its quarantine row only.
    assert _stored_ids(committed_engine) == ["ev-1", "ev-3"]
    with Session(committed_engine) as session:
        assert session.exec(select(func.count(col(QuarantinedEvent.id)))).one() == 1


def test_a_group_that_fails_to_commit_is_applied_event_by_event(
    committed_engine: Engine, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = EventWriter(committed_engine)
    real = writer._commit
    tries: list[int] = []

    def fails_for_a_group(batch: list[_Waiting]) -> Any:
        tries.append(len(batch))
        if len(batch) > 1:
            raise RuntimeError("the database went away")
        return real(batch)

    monkeypatch.setattr(writer, "_commit", fails_for_a_group)
    group = [_waiting(booking(source_event_id=f"ev-{n}"), policy) for n in range(3)]
    for waiting in group:
        waiting.done.set_running_or_notify_cancel()
    writer._write(group)

    assert tries == [3, 1, 1, 1]
    assert [w.done.result().status for w in group] == ["accepted"] * 3
    assert _stored_ids(committed_engine) == ["ev-0", "ev-1", "ev-2"]


def test_an_error_that_sinks_one_event_alone_reaches_its_request_only(
    committed_engine: Engine, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = EventWriter(committed_engine)
    real = writer._commit

    def fails_for_the_second(batch: list[_Waiting]) -> Any:
        if any(w.candidate["source_event_id"] == "ev-1" for w in batch):
            raise RuntimeError("refused")
        return real(batch)

    monkeypatch.setattr(writer, "_commit", fails_for_the_second)
    group = [_waiting(event(source_event_id=f"ev-{n}"), policy) for n in range(3)]
    for waiting in group:
        waiting.done.set_running_or_notify_cancel()
    writer._write(group)

    assert group[0].done.result().status == "accepted"
    with pytest.raises(RuntimeError):
        group[1].done.result()
    assert group[2].done.result().status == "accepted"
    assert _stored_ids(committed_engine) == ["ev-0", "ev-2"]


def test_a_request_cancelled_before_its_event_is_taken_is_not_applied(
    committed_engine: Engine, policy: Policy
) -> None:
    writer = EventWriter(committed_engine)
    gone = _waiting(event(source_event_id="ev-gone"), policy)
    kept = _waiting(event(source_event_id="ev-kept"), policy)
    assert gone.done.cancel()
    # Queued together: the writer's thread takes both and applies only the one still wanted.
    writer._batches.put([gone, kept])

    assert kept.done.result(timeout=60).status == "accepted"
    writer.close()
    assert _stored_ids(committed_engine) == ["ev-kept"]


def test_apply_returns_once_the_event_is_committed(
    committed_engine: Engine, policy: Policy
) -> None:
    writer = EventWriter(committed_engine)
    try:
        receipt = writer.apply(event(source_event_id="ev-now"), policy)
        # Readable from another connection as soon as the call returns.
        assert _stored_ids(committed_engine) == ["ev-now"]
        assert receipt.status == "accepted"
        with pytest.raises(InvalidEvent):
            writer.apply({"source": "enforce"}, policy)
    finally:
        writer.close()


class _RequestIds(logging.Handler):
    """Notes the request id in force when each record is emitted, on whichever thread."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str | None] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(logs.request_id.get())


def test_an_event_is_applied_in_its_requests_context(
    committed_engine: Engine, policy: Policy
) -> None:
    writer = EventWriter(committed_engine)
    handler = _RequestIds()
    logger = logging.getLogger("voice.ingest.service")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    token = logs.request_id.set("req-writer-1")
    try:
        writer.apply(event(source_event_id="ev-ctx"), policy)
    finally:
        logs.request_id.reset(token)
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        writer.close()
    # Logged on the writer's thread, with the id of the request that posted the event.
    assert handler.seen == ["req-writer-1"]
