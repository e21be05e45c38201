"""The lookups of one turn of the event loop share one read (``lookup_reads``): each gets only
its own session's cases, an ended or foreign session gets none, and every answer leaves only
once its accounting has committed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.factories import booking, case_of, victim_with_link
from voice import database
from voice.audit.group_commit import AccountingWriter, _Waiting
from voice.auth import victim_sessions
from voice.auth.models import VictimSession
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event
from voice.selfservice import lookup_reads, service
from voice.victims import service as victim_service
from voice.victims.models import Victim

_RECORDS = sa.text("SELECT count(*) FROM disclosure_record")


class Signed:
    def __init__(self, victim: Victim, token: str) -> None:
        assert victim.id is not None
        self.victim_id = victim.id
        self.token = token


def _signed_in(session: Session, victim: Victim) -> Signed:
    assert victim.id is not None
    token, _ = victim_sessions.issue(session=session, victim_id=victim.id, minutes=30)
    return Signed(victim, token)


@pytest.fixture
def two(committed_engine: Engine, policy: Policy) -> tuple[Signed, Signed]:
    """Two victims: the first linked to two cases, the second to one."""
    with transaction(committed_engine) as session:
        for number in range(3):
            candidate = booking(subject_id=f"S-L{number}", case_number=f"CASE-L-{number}")
            ingest_event(session=session, candidate=candidate, policy=policy)
        cases = [case_of(session, f"CASE-L-{number}") for number in range(3)]
        first, _, _ = victim_with_link(session, cases[0])
        victim_service.link_victim(session=session, victim=first, case=cases[1], verified=True)
        second, _, _ = victim_with_link(session, cases[2])
        return _signed_in(session, first), _signed_in(session, second)


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    reads: list[dict[str, Any]] = []
    real = database.read_rows

    async def counted(engine: Engine, read: Any, parameters: dict[str, Any]) -> Any:
        reads.append(parameters)
        return await real(engine, read, parameters)

    monkeypatch.setattr(lookup_reads, "read_rows", counted)
    return reads


def _lookup(
    engine: Engine, writer: AccountingWriter, policy: Policy, signed: Signed, victim_id: int
) -> Any:
    return service.read_linked_cases(
        engine=engine,
        writer=writer,
        victim_id=victim_id,
        policy=policy,
        session_token=signed.token,
    )


def test_lookups_of_one_turn_share_one_read_and_each_gets_its_own(
    committed_engine: Engine,
    policy: Policy,
    two: tuple[Signed, Signed],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = two
    reads = _counting_reads(monkeypatch)
    writer = AccountingWriter(committed_engine)

    async def lookups() -> tuple[Any, ...]:
        return await asyncio.gather(
            _lookup(committed_engine, writer, policy, first, first.victim_id),
            _lookup(committed_engine, writer, policy, second, second.victim_id),
            _lookup(committed_engine, writer, policy, first, first.victim_id),
            # A session presented for another victim is no session of theirs.
            _lookup(committed_engine, writer, policy, first, second.victim_id),
            return_exceptions=True,
        )

    mine, theirs, again, foreign = asyncio.run(lookups())
    writer.close()
    assert len(reads) == 1
    assert len(reads[0]["token_hashes"]) == 2
    assert isinstance(foreign, service.SessionEnded)
    with Session(committed_engine) as session:
        expected = {
            signed.victim_id: [
                view.json
                for view in service.linked_cases(
                    session=session,
                    victim=session.get_one(Victim, signed.victim_id),
                    policy=policy,
                )
            ]
            for signed in two
        }
        session.rollback()
    assert [v.json for v in mine] == expected[first.victim_id]
    assert [v.json for v in again] == expected[first.victim_id]
    assert [v.json for v in theirs] == expected[second.victim_id]
    assert len(mine) == 2
    assert len(theirs) == 1
    # One record per case answered, none for the refused lookup.
    with committed_engine.connect() as connection:
        assert connection.execute(_RECORDS).scalar_one() == 5


def test_an_ended_session_in_a_shared_read_gets_nothing(
    committed_engine: Engine,
    policy: Policy,
    two: tuple[Signed, Signed],
) -> None:
    first, second = two
    with transaction(committed_engine) as session:
        ended = session.exec(
            select(VictimSession).where(VictimSession.victim_id == first.victim_id)
        ).one()
        ended.revoked_at = utcnow()
        session.add(ended)
    writer = AccountingWriter(committed_engine)

    async def lookups() -> tuple[Any, ...]:
        return await asyncio.gather(
            _lookup(committed_engine, writer, policy, first, first.victim_id),
            _lookup(committed_engine, writer, policy, second, second.victim_id),
            return_exceptions=True,
        )

    refused, answered = asyncio.run(lookups())
    writer.close()
    assert isinstance(refused, service.SessionEnded)
    assert not isinstance(answered, BaseException)
    assert len(answered) == 1


def test_a_failed_shared_read_fails_each_lookup_and_nothing_is_accounted(
    committed_engine: Engine,
    policy: Policy,
    two: tuple[Signed, Signed],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = two

    async def failing(*_args: Any) -> Any:
        raise sa.exc.OperationalError("SELECT", {}, RuntimeError("the database is gone"))

    monkeypatch.setattr(lookup_reads, "read_rows", failing)
    writer = AccountingWriter(committed_engine)

    async def lookups() -> tuple[Any, ...]:
        return await asyncio.gather(
            _lookup(committed_engine, writer, policy, first, first.victim_id),
            _lookup(committed_engine, writer, policy, second, second.victim_id),
            return_exceptions=True,
        )

    outcomes = asyncio.run(lookups())
    writer.close()
    assert all(isinstance(o, sa.exc.OperationalError) for o in outcomes)
    with committed_engine.connect() as connection:
        assert connection.execute(_RECORDS).scalar_one() == 0


def test_each_answer_leaves_only_once_its_accounting_has_committed(
    committed_engine: Engine, policy: Policy, two: tuple[Signed, Signed]
) -> None:
    first, second = two
    committed: list[int] = []

    class Counting(AccountingWriter):
        def _commit(self, batch: list[_Waiting]) -> None:
            super()._commit(batch)
            with committed_engine.connect() as connection:
                committed.append(connection.execute(_RECORDS).scalar_one())

    writer = Counting(committed_engine)

    async def lookup(signed: Signed) -> int:
        views = await _lookup(committed_engine, writer, policy, signed, signed.victim_id)
        # Seen from another connection: the records are committed, not merely written.
        with committed_engine.connect() as connection:
            records = connection.execute(_RECORDS).scalar_one()
        assert records >= len(views)
        return len(views)

    async def lookups() -> list[int]:
        return list(await asyncio.gather(*(lookup(s) for s in (first, second, first, second))))

    answered = asyncio.run(lookups())
    writer.close()
    assert answered == [2, 1, 2, 1]
    assert committed
    assert committed[-1] == 6


def test_a_lookup_cancelled_before_the_read_is_left_out_of_it(
    committed_engine: Engine,
    policy: Policy,
    two: tuple[Signed, Signed],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = two
    reads = _counting_reads(monkeypatch)
    writer = AccountingWriter(committed_engine)

    async def lookups() -> Any:
        cancelled = asyncio.ensure_future(
            _lookup(committed_engine, writer, policy, first, first.victim_id)
        )
        kept = asyncio.ensure_future(
            _lookup(committed_engine, writer, policy, second, second.victim_id)
        )
        # Both queue for the same read in this turn; one is cancelled before it starts.
        await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        return await kept

    answered = asyncio.run(lookups())
    writer.close()
    assert len(answered) == 1
    assert len(reads) == 1
    assert len(reads[0]["token_hashes"]) == 1
    with committed_engine.connect() as connection:
        assert connection.execute(_RECORDS).scalar_one() == 1
