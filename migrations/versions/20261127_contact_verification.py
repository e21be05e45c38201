"""Contact verification (challenges and proofs) and the record of inbound texts.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 17:26:26.951306
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voice.database

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_challenge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("victim_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("address_bidx", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("closed_at", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["victim_id"], ["victim.id"], name=op.f("fk_contact_challenge_victim_id_victim")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_challenge")),
    )
    with op.batch_alter_table("contact_challenge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_challenge_secret_hash"), ["secret_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_contact_challenge_victim_id"), ["victim_id"], unique=False
        )

    op.create_table(
        "contact_proof",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("victim_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("address_bidx", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("proven_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["victim_id"], ["victim.id"], name=op.f("fk_contact_proof_victim_id_victim")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_proof")),
    )
    with op.batch_alter_table("contact_proof", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_proof_victim_id"), ["victim_id"], unique=False)

    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_bidx", sa.String(length=64), nullable=False),
        sa.Column("victim_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("handled_as", sa.String(length=16), nullable=False),
        sa.Column("received_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["victim_id"], ["victim.id"], name=op.f("fk_inbound_message_victim_id_victim")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_message")),
    )
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_message_sender_bidx"), ["sender_bidx"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_message_victim_id"), ["victim_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_message_victim_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_message_sender_bidx"))

    op.drop_table("inbound_message")
    with op.batch_alter_table("contact_proof", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_proof_victim_id"))

    op.drop_table("contact_proof")
    with op.batch_alter_table("contact_challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_challenge_victim_id"))
        batch_op.drop_index(batch_op.f("ix_contact_challenge_secret_hash"))

    op.drop_table("contact_challenge")
