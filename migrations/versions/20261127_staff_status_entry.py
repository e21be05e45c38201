"""Manual status entry: who among staff recorded an event by hand during a feed outage, and why

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voice.database

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_status_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("entered_by", sa.String(length=200), nullable=False),
        sa.Column("entered_by_name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("entered_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["offender_case.id"],
            name=op.f("fk_staff_status_entry_case_id_offender_case"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["case_event.id"], name=op.f("fk_staff_status_entry_event_id_case_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_status_entry")),
        sa.UniqueConstraint("event_id", name=op.f("uq_staff_status_entry_event_id")),
    )
    with op.batch_alter_table("staff_status_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_status_entry_case_id"), ["case_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_status_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_status_entry_case_id"))
    op.drop_table("staff_status_entry")
