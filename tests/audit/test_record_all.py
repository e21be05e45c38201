"""Accounting many releases at once: one reference per recipient, new ones chained, and the
records chained in order, as one by one would have."""

from __future__ import annotations

from enum import Enum
from types import MappingProxyType

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from tests.factories import booking, case_of
from tests.threads import run_at_once
from voice.audit import chain as accounting
from voice.audit import reference_chain
from voice.audit import service as audit_service
from voice.audit.models import DisclosureRecord, RecipientReference
from voice.database import transaction
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event


class _Audience(Enum):
    VICTIM_VERIFIED = "victim_verified"


class _View:
    audience = _Audience.VICTIM_VERIFIED
    released = MappingProxyType({"event.event_type": "custody.released"})
    withheld: tuple[()] = ()


def _to(recipient_id: str, case_id: int, policy: Policy) -> audit_service.Disclosures:
    return audit_service.Disclosures(
        releases=[audit_service.Release(_View(), case_id)],
        policy=policy,
        recipient_kind="victim",
        recipient_id=recipient_id,
        channel="email",
    )


def test_record_all_reuses_known_references_and_chains_new_ones(
    committed_engine: Engine, policy: Policy
) -> None:
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        case_id = case_of(session).id
        assert case_id is not None
        known = accounting.recipient_ref(session=session, recipient_kind="victim", recipient_id="1")
    with transaction(committed_engine) as session:
        audit_service.record_all(
            session=session,
            batch=[_to(r, case_id, policy) for r in ("1", "2", "3", "2")],
        )

    with transaction(committed_engine) as session:
        refs = dict(
            session.exec(select(RecipientReference.recipient_id, RecipientReference.ref)).all()
        )
        records = session.exec(
            select(DisclosureRecord.recipient_ref).order_by(col(DisclosureRecord.chain_seq))
        ).all()
        assert session.exec(select(func.count()).select_from(RecipientReference)).one() == 3
        assert refs["1"] == known
        assert records == [refs["1"], refs["2"], refs["3"], refs["2"]]
        assert accounting.verify(session=session).ok
        assert reference_chain.verify_references(session=session)[0]


def test_the_chain_lock_is_asked_for_once_per_transaction_and_savepoint(
    committed_engine: Engine, policy: Policy
) -> None:
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        case_id = case_of(session).id
        assert case_id is not None
    taken: list[str] = []

    def note(_c: object, _cur: object, statement: str, *_: object) -> None:
        if "pg_advisory_xact_lock" in statement:
            taken.append(statement)

    sa.event.listen(committed_engine, "before_cursor_execute", note)
    try:
        with transaction(committed_engine) as session:
            audit_service.record_all(session=session, batch=[_to("1", case_id, policy)])
            audit_service.record_all(session=session, batch=[_to("2", case_id, policy)])
            after_root = len(taken)
            # A savepoint rolled back releases a lock taken inside it, so one asks again.
            with session.begin_nested():
                audit_service.record_all(session=session, batch=[_to("3", case_id, policy)])
            after_savepoint = len(taken)
        with transaction(committed_engine) as session:
            audit_service.record_all(session=session, batch=[_to("1", case_id, policy)])
    finally:
        sa.event.remove(committed_engine, "before_cursor_execute", note)
    if committed_engine.dialect.name == "postgresql":
        assert (after_root, after_savepoint, len(taken)) == (1, 2, 3)
    else:
        assert taken == []  # SQLite's write lock is the transaction's own


def test_record_all_moves_both_heads_on_from_where_they_stood(
    committed_engine: Engine, policy: Policy
) -> None:
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        case_id = case_of(session).id
        assert case_id is not None
    # The first writes both heads; the next move them, each with a new recipient among known.
    for batch in (("1", "2"), ("2", "3"), ("3", "4", "1")):
        with transaction(committed_engine) as session:
            audit_service.record_all(
                session=session, batch=[_to(r, case_id, policy) for r in batch]
            )

    with transaction(committed_engine) as session:
        assert accounting.verify(session=session) == accounting.VerifyResult(True, 7)
        assert reference_chain.verify_references(session=session) == (True, 4, None)
        assert accounting.chain_head(session.connection())[0] == 7
        assert reference_chain.reference_head(session.connection())[0] == 4


def test_group_commits_running_at_once_keep_one_chain(
    committed_engine: Engine, policy: Policy
) -> None:
    """The chain's lock and the heads are sent together (``database.run_together``): on
    PostgreSQL the server must still take the lock before it reads the heads, or two commits
    would chain on from the same head and one would fail its unique position."""
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        case_id = case_of(session).id
        assert case_id is not None
        # Known already, so each commit below takes the one-round-trip path.
        accounting.recipient_ref(session=session, recipient_kind="victim", recipient_id="1")

    def committer() -> None:
        for _ in range(5):
            with transaction(committed_engine) as session:
                audit_service.record_all(
                    session=session, batch=[_to("1", case_id, policy) for _ in range(3)]
                )

    assert run_at_once(committer, threads=4) == []
    with transaction(committed_engine) as session:
        assert accounting.verify(session=session) == accounting.VerifyResult(True, 60)
