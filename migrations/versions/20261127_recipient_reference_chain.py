"""Chain the recipient references, so that changing whom a reference names shows.

Existing rows are chained in the order they were made (by id), with a frozen copy of the hash
(voice/audit/reference_chain.py ``entry_hash``): the application's may change later, and
this migration must still produce what it produced. The accounting's own rows and hashes are
untouched, so every record made before stays verifiable. The chain's head is row 2 of the
chain-head table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 09:30:00.000000
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import voice.database

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
HEAD_ID = 2


def _entry_hash(values: dict[str, Any]) -> str:
    # Frozen copy of voice.audit.reference_chain.entry_hash as of this revision.
    body = {
        "chain_seq": values["chain_seq"],
        "ref": values["ref"],
        "recipient_kind": values["recipient_kind"],
        "recipient_id": values["recipient_id"],
        "created_at": values["created_at"].isoformat(),
        "prev_hash": values["prev_hash"],
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("recipient_reference", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))

    refs = sa.table(
        "recipient_reference",
        sa.column("id", sa.Integer),
        sa.column("ref", sa.String),
        sa.column("recipient_kind", sa.String),
        sa.column("recipient_id", sa.String),
        sa.column("created_at", voice.database.UTCDateTime(timezone=True)),
        sa.column("chain_seq", sa.Integer),
        sa.column("entry_hash", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(refs).order_by(refs.c.id)).mappings().all()
    prev, seq = GENESIS, 0
    for row in rows:
        seq += 1
        digest = _entry_hash({**row, "chain_seq": seq, "prev_hash": prev})
        connection.execute(
            sa.update(refs).where(refs.c.id == row["id"]).values(chain_seq=seq, entry_hash=digest)
        )
        prev = digest
    if seq:
        head = sa.table(
            "disclosure_chain_head",
            sa.column("id", sa.Integer),
            sa.column("chain_seq", sa.Integer),
            sa.column("record_hash", sa.String),
            sa.column("updated_at", voice.database.UTCDateTime(timezone=True)),
        )
        connection.execute(
            sa.insert(head).values(
                id=HEAD_ID, chain_seq=seq, record_hash=prev, updated_at=datetime.now(UTC)
            )
        )

    with op.batch_alter_table("recipient_reference", schema=None) as batch_op:
        batch_op.alter_column("chain_seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_recipient_reference_chain_seq"), ["chain_seq"]
        )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM disclosure_chain_head WHERE id = :id").bindparams(id=HEAD_ID))
    with op.batch_alter_table("recipient_reference", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_recipient_reference_chain_seq"), type_="unique")
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("chain_seq")
