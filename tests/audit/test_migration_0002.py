"""Revision 0002 moves existing accounting rows onto the chain and their recipients into the
protected references, and gives them back on downgrade."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from tests.databases import BACKENDS, DatabaseFactory
from voice import migrate
from voice.audit import chain as accounting
from voice.audit.service import PURPOSES
from voice.database import make_engine


@pytest.mark.parametrize("backend", BACKENDS)
def test_existing_records_are_chained_and_their_recipients_referenced(
    backend: str, databases: DatabaseFactory
) -> None:
    url = databases.new_url(backend)
    migrate.upgrade(url, "0001")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO subject (source, upstream_id, aliases, is_minor, protected_1367,"
                " markings, created_at, updated_at) VALUES ('s', 'S-1', '[]', false, false, '{}',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO offender_case (subject_id, markings, created_at, updated_at)"
                " VALUES (1, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        for victim in ("7", "8", "7"):
            connection.execute(
                sa.text(
                    "INSERT INTO disclosure_record (disclosed_at, recipient_kind, recipient_id,"
                    " audience, channel, case_id, fields_released, fields_withheld,"
                    " policy_version, policy_sha256) VALUES (CURRENT_TIMESTAMP, 'victim', :v,"
                    " 'victim_verified', 'email', 1, '[\"case.custody_status\"]',"
                    ' \'[{"field": "event.notes", "reason": "x"}]\', \'v1\', :sha)'
                ),
                {"v": victim, "sha": "0" * 64},
            )
    engine.dispose()

    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        assert accounting.verify(session=session) == accounting.VerifyResult(True, 3)
        refs = session.execute(
            sa.text(
                "SELECT d.chain_seq, r.recipient_id, d.purpose FROM disclosure_record d"
                " JOIN recipient_reference r ON r.ref = d.recipient_ref ORDER BY d.chain_seq"
            )
        ).all()
    assert [tuple(r) for r in refs] == [
        (1, "7", "victim_notification"),
        (2, "8", "victim_notification"),
        (3, "7", "victim_notification"),
    ]
    engine.dispose()

    migrate.downgrade(url, "0001")
    engine = make_engine(url)
    with engine.connect() as connection:
        back = connection.execute(
            sa.text("SELECT recipient_id FROM disclosure_record ORDER BY id")
        ).scalars()
        assert list(back) == ["7", "8", "7"]
    engine.dispose()


def test_the_migrations_frozen_hash_matches_the_application() -> None:
    """0002 carries its own copy of the hash; a change to the app's needs a new migration."""
    path = Path(__file__).parents[2] / "migrations" / "versions" / "20261123_disclosure_filter.py"
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    values = {
        "chain_seq": 7,
        "disclosed_at": datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
        "recipient_kind": "victim",
        "recipient_ref": "rcp_0123",
        "audience": "victim_verified",
        "channel": "email",
        "purpose": "victim_notification",
        "case_id": 3,
        "event_id": 9,
        "notification_id": None,
        "fields_released": ["case.custody_status"],
        "fields_withheld": [{"field": "subject.a_number", "rule_id": "r", "basis": "b"}],
        "policy_version": "2026.11",
        "policy_sha256": "ab" * 32,
        "prev_hash": "cd" * 32,
    }
    assert migration.record_hash(values) == accounting.record_hash(values)
    assert migration.GENESIS == accounting.GENESIS
    assert migration.PURPOSES == PURPOSES
