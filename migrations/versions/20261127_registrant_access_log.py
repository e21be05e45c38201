"""The registrant access log: who among staff opened whose personal data, and when; and when
a registrant consented to be registered

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voice.database

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("victim", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consented_at", voice.database.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "registrant_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("staff_subject", sa.String(length=200), nullable=False),
        sa.Column("staff_name", sa.String(length=200), nullable=False),
        sa.Column("victim_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["victim_id"], ["victim.id"], name=op.f("fk_registrant_access_victim_id_victim")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrant_access")),
    )
    with op.batch_alter_table("registrant_access", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registrant_access_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_registrant_access_staff_subject"), ["staff_subject"], unique=False
        )
        batch_op.create_index(
            "ix_registrant_access_victim_id_at", ["victim_id", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("victim", schema=None) as batch_op:
        batch_op.drop_column("consented_at")
    with op.batch_alter_table("registrant_access", schema=None) as batch_op:
        batch_op.drop_index("ix_registrant_access_victim_id_at")
        batch_op.drop_index(batch_op.f("ix_registrant_access_staff_subject"))
        batch_op.drop_index(batch_op.f("ix_registrant_access_at"))

    op.drop_table("registrant_access")
