"""The accounting of disclosures: hash-chained, verifiable, and silent about who victims are."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tests.factories import booking, case_of, victim_with_link
from tests.threads import run_at_once
from voice import cli
from voice.audit import chain as accounting
from voice.audit.models import DisclosureRecord, RecipientReference
from voice.database import transaction
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event
from voice.selfservice.service import linked_cases
from voice.victims.models import Victim


def disclose_reads(engine: Engine, policy: Policy, reads: int = 3) -> Victim:
    """A case, a verified victim, and ``reads`` self-service reads, each one accounted for."""
    with transaction(engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        victim, _, _ = victim_with_link(session, case_of(session), email="vera@example.invalid")
    for _ in range(reads):
        with transaction(engine) as session:
            linked_cases(session=session, victim=victim, policy=policy)
    return victim


def rows(engine: Engine) -> list[DisclosureRecord]:
    with transaction(engine) as session:
        return list(session.exec(select(DisclosureRecord).order_by(col(DisclosureRecord.id))))


def verify(engine: Engine) -> accounting.VerifyResult:
    with transaction(engine) as session:
        return accounting.verify(session=session)


def test_records_carry_purpose_rules_and_policy_and_chain(
    committed_engine: Engine, policy: Policy
) -> None:
    disclose_reads(committed_engine, policy)
    records = rows(committed_engine)
    assert [r.chain_seq for r in records] == [1, 2, 3]
    assert records[0].prev_hash == accounting.GENESIS
    assert [r.prev_hash for r in records[1:]] == [r.record_hash for r in records[:-1]]
    first = records[0]
    assert (first.channel, first.purpose, first.audience) == (
        "api",
        "victim_self_service",
        "victim_verified",
    )
    assert "subject.last_name" in first.fields_released
    withheld = {w["field"]: w for w in first.fields_withheld}
    assert withheld["case.officer_name"]["rule_id"] == "harm.officer"
    assert withheld["case.officer_name"]["basis"].startswith("FOIA")
    assert (first.policy_version, first.policy_sha256) == (policy.version, policy.sha256)
    assert verify(committed_engine) == accounting.VerifyResult(True, 3)


@pytest.mark.parametrize("column", ["audience", "fields_released", "purpose", "disclosed_at"])
def test_verify_fails_on_an_edited_row(
    committed_engine: Engine, policy: Policy, column: str
) -> None:
    disclose_reads(committed_engine, policy)
    victim_row = rows(committed_engine)[1]
    values = {
        "audience": "liaison",
        "fields_released": ["subject.last_name"],
        "purpose": "other",
        "disclosed_at": victim_row.disclosed_at.replace(year=2020),
    }
    with transaction(committed_engine) as session:
        session.execute(
            sa.update(DisclosureRecord)
            .where(col(DisclosureRecord.id) == victim_row.id)
            .values({column: values[column]})
        )
    result = verify(committed_engine)
    assert not result.ok
    assert result.checked == 1
    assert result.problem is not None
    assert "content does not match" in result.problem


def test_verify_fails_on_a_deleted_row(committed_engine: Engine, policy: Policy) -> None:
    disclose_reads(committed_engine, policy)
    with transaction(committed_engine) as session:
        session.execute(sa.delete(DisclosureRecord).where(col(DisclosureRecord.chain_seq) == 2))
    result = verify(committed_engine)
    assert not result.ok
    assert result.problem is not None
    assert "expected position 2" in result.problem


def test_verify_fails_when_the_newest_rows_are_removed(
    committed_engine: Engine, policy: Policy
) -> None:
    disclose_reads(committed_engine, policy)
    with transaction(committed_engine) as session:
        session.execute(sa.delete(DisclosureRecord).where(col(DisclosureRecord.chain_seq) == 3))
    result = verify(committed_engine)
    assert not result.ok
    assert result.problem is not None
    assert "removed from the end" in result.problem


def test_verify_fails_on_reordered_rows(committed_engine: Engine, policy: Policy) -> None:
    disclose_reads(committed_engine, policy)
    first, second = rows(committed_engine)[:2]
    with transaction(committed_engine) as session:
        # Swap two rows' places in the chain (through a free number, for the unique key).
        for row_id, seq in ((first.id, -1), (second.id, 1), (first.id, 2)):
            session.execute(
                sa.update(DisclosureRecord)
                .where(col(DisclosureRecord.id) == row_id)
                .values(chain_seq=seq)
            )
    result = verify(committed_engine)
    assert not result.ok


def test_verify_fails_on_a_rehashed_but_unlinked_row(
    committed_engine: Engine, policy: Policy
) -> None:
    disclose_reads(committed_engine, policy)
    target = rows(committed_engine)[1]
    values = target.model_dump()
    values["audience"] = "liaison"
    with transaction(committed_engine) as session:
        # A forger who recomputes the edited row's own hash still breaks the next link.
        session.execute(
            sa.update(DisclosureRecord)
            .where(col(DisclosureRecord.id) == target.id)
            .values(audience="liaison", record_hash=accounting.record_hash(values))
        )
    result = verify(committed_engine)
    assert not result.ok
    assert result.problem is not None
    assert "does not follow" in result.problem


def test_concurrent_writers_keep_one_chain(committed_engine: Engine, policy: Policy) -> None:
    victim = disclose_reads(committed_engine, policy, reads=0)

    def reader() -> None:
        for _ in range(5):
            with transaction(committed_engine) as session:
                linked_cases(session=session, victim=victim, policy=policy)

    assert run_at_once(reader, threads=4) == []
    assert verify(committed_engine) == accounting.VerifyResult(True, 20)


def test_recipients_are_references_into_a_separate_table(
    committed_engine: Engine, policy: Policy
) -> None:
    victim = disclose_reads(committed_engine, policy, reads=2)
    with transaction(committed_engine) as session:
        refs = session.exec(select(RecipientReference)).all()
    assert [(r.recipient_kind, r.recipient_id) for r in refs] == [("victim", str(victim.id))]
    assert {r.recipient_ref for r in rows(committed_engine)} == {refs[0].ref}


@pytest.mark.usefixtures("voice_env")
def test_cli_accounting_and_verify(
    committed_engine: Engine, policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = disclose_reads(committed_engine, policy, reads=2)
    assert cli.main(["audit", "accounting", "--subject", "S-T0001"]) == 0
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 2
    assert lines[0]["purpose"] == "victim_self_service"
    assert lines[0]["recipient"].startswith("victim:rcp_")
    assert any(w["rule_id"] == "harm.officer" for w in lines[0]["fields_withheld"])
    for identity in (victim.first_name, victim.last_name, victim.email or "", f'"{victim.id}"'):
        assert identity not in out
    with transaction(committed_engine) as session:
        subject_id = case_of(session).subject_id
    assert cli.main(["audit", "accounting", "--subject", str(subject_id)]) == 0
    assert capsys.readouterr().out == out
    assert cli.main(["audit", "accounting", "--subject", "nobody"]) == 1

    assert cli.main(["audit", "verify"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "ok": True,
        "checked": 2,
        "problem": None,
        "references_checked": 1,
        "checkpoints_checked": 0,
    }
    with transaction(committed_engine) as session:
        session.execute(sa.update(DisclosureRecord).values(channel="email"))
    assert cli.main(["audit", "verify"]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False
