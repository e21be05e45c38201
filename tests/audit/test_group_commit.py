"""Group commit of the accounting: concurrent reads share transactions, and nothing is lost."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.audit.test_chain import rows, verify
from tests.factories import booking, case_of, victim_with_link
from voice.audit.group_commit import AccountingWriter, _Waiting
from voice.audit.service import Disclosures, Release
from voice.cases.models import Subject
from voice.database import read_only, transaction
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import disclose
from voice.disclosure.policy import Policy
from voice.disclosure.records import case_record
from voice.ingest.service import ingest_event
from voice.metrics import ACCOUNTING_QUEUE
from voice.selfservice.service import read_linked_cases
from voice.victims.models import Victim


@pytest.fixture
def victim(committed_engine: Engine, policy: Policy) -> Victim:
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        victim, _, _ = victim_with_link(session, case_of(session))
    return victim


def _read_many(
    engine: Engine, writer: AccountingWriter, victim: Victim, policy: Policy, *, readers: int
) -> list[BaseException]:
    assert victim.id is not None
    victim_id = victim.id

    async def reader() -> None:
        for _ in range(5):
            views = await read_linked_cases(
                engine=engine, writer=writer, victim_id=victim_id, policy=policy
            )
            assert [v.case_id for v in views]

    async def all_readers() -> list[BaseException]:
        outcomes = await asyncio.gather(*(reader() for _ in range(readers)), return_exceptions=True)
        return [o for o in outcomes if isinstance(o, BaseException)]

    return asyncio.run(all_readers())


def test_concurrent_reads_are_each_accounted_for_in_one_chain(
    committed_engine: Engine, policy: Policy, victim: Victim
) -> None:
    writer = AccountingWriter(committed_engine)
    assert _read_many(committed_engine, writer, victim, policy, readers=8) == []
    records = rows(committed_engine)
    assert len(records) == 8 * 5  # one case, so one record per read
    assert [r.chain_seq for r in records] == list(range(1, 41))
    assert verify(committed_engine).ok
    # Every record names the same opaque reference: made once, under the chain's lock.
    assert {r.recipient_ref for r in records} == {records[0].recipient_ref}


def _disclosures(engine: Engine, policy: Policy, victim: Victim, case_id: int) -> Disclosures:
    with transaction(engine) as session:
        case = case_of(session)
        subject = session.get_one(Subject, case.subject_id)
        view = disclose(
            case_record(subject, case), audience=Audience.VICTIM_VERIFIED, policy=policy
        )
    return Disclosures([Release(view, case_id)], policy, "victim", str(victim.id), "api")


def test_a_failing_entry_fails_only_its_own_caller(
    committed_engine: Engine, policy: Policy, victim: Victim
) -> None:
    """A batch that fails is retried caller by caller; the good entries still commit."""
    with transaction(committed_engine) as session:
        case_id = case_of(session).id
    assert case_id is not None
    valid = _disclosures(committed_engine, policy, victim, case_id)
    # No such case: the foreign key refuses the row, on both databases.
    broken = _disclosures(committed_engine, policy, victim, 2_000_000_000)
    writer = AccountingWriter(committed_engine)
    outcomes: dict[str, BaseException | None] = {}
    start = threading.Barrier(6)

    def submit(name: str, disclosures: Disclosures) -> None:
        start.wait()
        try:
            writer.record(disclosures)
        except BaseException as exc:
            outcomes[name] = exc
        else:
            outcomes[name] = None

    threads = [threading.Thread(target=submit, args=("broken", broken))] + [
        threading.Thread(target=submit, args=(f"valid-{i}", valid)) for i in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert isinstance(outcomes.pop("broken"), sa.exc.IntegrityError)
    assert outcomes == {f"valid-{i}": None for i in range(5)}
    assert len(rows(committed_engine)) == 5
    assert verify(committed_engine).ok


def test_callers_that_wait_during_a_commit_share_the_next_one(
    committed_engine: Engine, policy: Policy, victim: Victim
) -> None:
    with transaction(committed_engine) as session:
        case_id = case_of(session).id
    assert case_id is not None
    disclosures = _disclosures(committed_engine, policy, victim, case_id)
    writer = AccountingWriter(committed_engine)
    callers = [threading.Thread(target=writer.record, args=(disclosures,)) for _ in range(5)]
    # Stand in for a batch whose commit is under way: everyone queues behind it.
    with writer._write_lock:
        for caller in callers:
            caller.start()
        while writer.queued() < 5:
            time.sleep(0.001)
    for caller in callers:
        caller.join(timeout=60)
    assert writer.batches == 1
    assert [r.chain_seq for r in rows(committed_engine)] == [1, 2, 3, 4, 5]
    assert verify(committed_engine).ok


def test_the_queue_gauge_counts_the_entries_waiting_for_a_commit(
    committed_engine: Engine, policy: Policy, victim: Victim
) -> None:
    with transaction(committed_engine) as session:
        case_id = case_of(session).id
    assert case_id is not None
    disclosures = _disclosures(committed_engine, policy, victim, case_id)
    writer = AccountingWriter(committed_engine)
    before = ACCOUNTING_QUEUE._value.get()
    # Stand in for a batch whose commit is under way: the new entries wait in the queue.
    with writer._write_lock:
        waiting = [writer._submit(disclosures) for _ in range(3)]
        assert ACCOUNTING_QUEUE._value.get() == before + 3
    for done in waiting:
        done.result(timeout=60)
    assert ACCOUNTING_QUEUE._value.get() == before
    writer.close()


def test_nothing_is_returned_when_the_accounting_cannot_commit(
    committed_engine: Engine, policy: Policy, victim: Victim
) -> None:
    """The views leave only with their accounting: a writer that fails means no views."""
    assert victim.id is not None

    class Refusing(AccountingWriter):
        def _commit(self, batch: list[_Waiting]) -> None:
            raise RuntimeError("the database is gone")

    with pytest.raises(RuntimeError, match="the database is gone"):
        asyncio.run(
            read_linked_cases(
                engine=committed_engine,
                writer=Refusing(committed_engine),
                victim_id=victim.id,
                policy=policy,
            )
        )
    assert rows(committed_engine) == []


def test_read_only_transactions_do_not_wait_for_the_writer(committed_engine: Engine) -> None:
    """On SQLite a read-only transaction begins DEFERRED and reads its snapshot while another
    connection holds the write lock; elsewhere it is the plain engine's behaviour."""
    with committed_engine.connect() as writer_connection:
        writer_connection.begin()  # BEGIN IMMEDIATE on SQLite: the write lock is now held
        writer_connection.execute(sa.text("SELECT count(*) FROM victim")).scalar_one()
        done = threading.Event()

        def read() -> None:
            with read_only(committed_engine).connect() as connection:
                connection.execute(sa.text("SELECT count(*) FROM victim")).scalar_one()
            done.set()

        reader = threading.Thread(target=read)
        reader.start()
        # busy_timeout is 30 s: a reader that queued for the write lock would still be waiting.
        assert done.wait(timeout=5)
        reader.join()
        writer_connection.rollback()
    assert read_only(committed_engine) is read_only(committed_engine)


def test_async_callers_and_close(committed_engine: Engine, policy: Policy, victim: Victim) -> None:
    """The loop's callers hold no thread while they wait; close commits what is queued, and
    the writer starts again on the next record (an app that is started twice)."""
    with transaction(committed_engine) as session:
        case_id = case_of(session).id
    assert case_id is not None
    disclosures = _disclosures(committed_engine, policy, victim, case_id)
    writer = AccountingWriter(committed_engine)

    async def many() -> None:
        await asyncio.gather(*(writer.record_async(disclosures) for _ in range(20)))

    asyncio.run(many())
    assert len(rows(committed_engine)) == 20
    writer.close()
    assert not writer._batches.running
    writer.record(disclosures)
    writer.close()
    assert [r.chain_seq for r in rows(committed_engine)] == list(range(1, 22))
    assert verify(committed_engine).ok


def test_a_cancelled_async_caller_does_not_stop_the_writer(
    committed_engine: Engine, policy: Policy, victim: Victim
) -> None:
    """A request task cancelled while it waits (a client gone, a shutdown) must not break the
    writer for everyone after it."""
    with transaction(committed_engine) as session:
        case_id = case_of(session).id
    assert case_id is not None
    disclosures = _disclosures(committed_engine, policy, victim, case_id)
    writer = AccountingWriter(committed_engine)

    async def cancelled_then_more() -> None:
        with writer._write_lock:  # a batch is committing: the next caller queues behind it
            waiter = asyncio.ensure_future(writer.record_async(disclosures))
            await asyncio.sleep(0.05)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
        await asyncio.wait_for(
            asyncio.gather(*(writer.record_async(disclosures) for _ in range(3))), timeout=30
        )

    asyncio.run(cancelled_then_more())
    writer.close()
    # The cancelled caller's entry was never taken, so it was never written.
    assert len(rows(committed_engine)) == 3
    assert verify(committed_engine).ok
