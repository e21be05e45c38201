"""The accounting's blind spots closed: whom a recipient reference names is chained too, and
signed checkpoints outside the database catch a tail rewritten with fresh hashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tests.audit.test_chain import disclose_reads, rows
from tests.databases import BACKENDS, DatabaseFactory
from voice import cli, migrate
from voice.audit import chain as accounting
from voice.audit import checkpoints, reference_chain
from voice.audit.models import DisclosureChainHead, DisclosureRecord, RecipientReference
from voice.config import Environment, Settings
from voice.database import make_engine, transaction
from voice.disclosure.policy import Policy
from voice.worker import make_context, run_periodic_jobs


def _verify(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = cli.main(["audit", "verify"])
    report: dict[str, object] = json.loads(capsys.readouterr().out.splitlines()[-1])
    return code, report


@pytest.mark.usefixtures("voice_env")
def test_changing_whom_a_reference_names_is_detected(
    committed_engine: Engine, policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    disclose_reads(committed_engine, policy)
    assert _verify(capsys)[0] == 0
    with transaction(committed_engine) as session:
        ref = session.exec(select(RecipientReference)).one()
        ref.recipient_id = str(int(ref.recipient_id) + 1)  # now names another victim
        session.add(ref)
    code, report = _verify(capsys)
    assert code == 1
    assert "who it names does not match its hash" in str(report["problem"])


@pytest.mark.usefixtures("voice_env")
def test_references_are_chained_in_order_with_their_own_head(
    committed_engine: Engine, policy: Policy
) -> None:
    disclose_reads(committed_engine, policy)
    with transaction(committed_engine) as session:
        refs = session.exec(select(RecipientReference)).all()
        assert [r.chain_seq for r in refs] == [1]
        assert reference_chain.verify_references(session=session) == (True, 1, None)
        # Removing the newest reference (and its records) shows at the head.
        session.execute(sa.delete(DisclosureRecord))
        session.execute(sa.delete(DisclosureChainHead).where(col(DisclosureChainHead.id) == 1))
        session.execute(sa.delete(RecipientReference))
        ok, _, problem = reference_chain.verify_references(session=session)
        assert not ok
        assert "head" in str(problem)


def _rewrite_tail(engine: Engine, from_seq: int) -> None:
    """What an attacker with write access does: edit a record, then recompute every hash."""
    with transaction(engine) as session:
        records = session.exec(
            select(DisclosureRecord).order_by(col(DisclosureRecord.chain_seq))
        ).all()
        prev = accounting.GENESIS
        for record in records:
            if record.chain_seq >= from_seq:
                if record.chain_seq == from_seq:
                    record.fields_released = ["subject.last_name"]
                record.prev_hash = prev
                record.record_hash = accounting.record_hash(record.model_dump())
                session.add(record)
            prev = record.record_hash
        session.flush()
        session.execute(
            sa.update(DisclosureChainHead)
            .where(col(DisclosureChainHead.id) == 1)
            .values(record_hash=prev)
        )


@pytest.mark.usefixtures("voice_env")
def test_a_rewritten_tail_passes_the_chain_but_not_the_checkpoints(
    committed_engine: Engine, policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    disclose_reads(committed_engine, policy, reads=3)
    assert cli.main(["audit", "checkpoint"]) == 0
    written = json.loads(capsys.readouterr().out)["written"]
    assert written is not None
    assert Path(written).exists()
    # Nothing moved since: no second file.
    assert cli.main(["audit", "checkpoint"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] is None
    code, report = _verify(capsys)
    assert (code, report["ok"], report["checkpoints_checked"]) == (0, True, 1)

    _rewrite_tail(committed_engine, from_seq=2)
    with transaction(committed_engine) as session:
        assert accounting.verify(session=session).ok  # the chain alone is fooled
    code, report = _verify(capsys)
    assert code == 1
    assert "accounting chain at position 3" in str(report["problem"])


@pytest.mark.usefixtures("voice_env")
def test_a_cut_back_or_forged_checkpoint_is_detected(
    committed_engine: Engine,
    policy: Policy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    disclose_reads(committed_engine, policy, reads=2)
    assert cli.main(["audit", "checkpoint"]) == 0
    path = Path(json.loads(capsys.readouterr().out)["written"])
    body = json.loads(path.read_text(encoding="utf-8"))
    body["accounting"]["chain_seq"] = 1
    path.write_text(json.dumps(body), encoding="utf-8")
    code, report = _verify(capsys)
    assert code == 1
    assert "not signed by this key" in str(report["problem"])


def test_the_worker_writes_checkpoints_when_the_chain_moves(
    committed_engine: Engine, policy: Policy, settings: Settings
) -> None:
    ctx = make_context(engine=committed_engine, settings=settings, policy=policy)
    run_periodic_jobs(ctx)  # empty chains: one checkpoint of the genesis heads
    assert len(list(settings.audit_checkpoint_dir.glob("checkpoint-*.json"))) == 1
    disclose_reads(committed_engine, policy, reads=1)
    run_periodic_jobs(ctx)
    run_periodic_jobs(ctx)  # nothing moved: nothing new
    files = sorted(settings.audit_checkpoint_dir.glob("checkpoint-*.json"))
    assert len(files) == 2
    latest = json.loads(files[-1].read_text(encoding="utf-8"))
    assert latest["accounting"]["chain_seq"] == len(rows(committed_engine))
    with transaction(committed_engine) as session:
        assert checkpoints.verify_checkpoints(session=session, settings=settings).checked == 2


def test_the_development_checkpoint_key_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="VOICE_AUDIT_CHECKPOINT_KEY"):
        Settings.model_validate(
            {
                "environment": Environment.PRODUCTION,
                "secret_key": "s" * 40,
                "pii_keys": "k1:" + "A" * 43 + "=",
                "blind_index_key": "s" * 40,
                "machine_issuer": "https://login.example.gov",
                "machine_jwks_url": "https://login.example.gov/jwks",
            }
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_migration_chains_existing_references(backend: str, databases: DatabaseFactory) -> None:
    url = databases.new_url(backend)
    migrate.upgrade(url, "0007")
    engine = make_engine(url)
    with engine.begin() as connection:
        for ref, victim in (("rcp_b", "9"), ("rcp_a", "4")):
            connection.execute(
                sa.text(
                    "INSERT INTO recipient_reference (ref, recipient_kind, recipient_id,"
                    " created_at) VALUES (:ref, 'victim', :v, CURRENT_TIMESTAMP)"
                ),
                {"ref": ref, "v": victim},
            )
    migrate.upgrade(url)
    with transaction(engine) as session:
        assert reference_chain.verify_references(session=session) == (True, 2, None)
        chained = session.exec(
            select(RecipientReference.ref).order_by(col(RecipientReference.chain_seq))
        ).all()
        assert list(chained) == ["rcp_b", "rcp_a"]  # in the order they were made
        # New references continue the migrated chain.
        accounting.recipient_ref(session=session, recipient_kind="victim", recipient_id="5")
        assert reference_chain.verify_references(session=session) == (True, 3, None)
    migrate.downgrade(url, "0007")
    engine.dispose()


def test_the_migrations_frozen_hash_matches_the_application() -> None:
    import importlib.util
    from datetime import UTC, datetime

    path = (
        Path(__file__).resolve().parents[2]
        / "migrations/versions/20261127_recipient_reference_chain.py"
    )
    spec = importlib.util.spec_from_file_location("migration_0008", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    values = {
        "chain_seq": 7,
        "ref": "rcp_x",
        "recipient_kind": "partner",
        "recipient_id": "p-1",
        "created_at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "prev_hash": "f" * 64,
    }
    assert migration._entry_hash(values) == reference_chain.entry_hash(values)
