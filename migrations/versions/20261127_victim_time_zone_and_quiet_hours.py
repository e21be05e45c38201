"""victims' time zone and quiet hours (routine notices wait overnight); questions asked on the
self-service pages (their text encrypted)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voice.database

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("victim") as batch:
        # Registrants from before this revision are in the office's zone until they choose.
        batch.add_column(
            sa.Column(
                "time_zone",
                sa.String(length=64),
                nullable=False,
                server_default="America/New_York",
            )
        )
        batch.add_column(sa.Column("quiet_start_hour", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quiet_end_hour", sa.Integer(), nullable=True))
    with op.batch_alter_table("victim") as batch:
        batch.alter_column("time_zone", server_default=None)
    op.create_table(
        "victim_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("victim_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offender_case.id"], name=op.f("fk_victim_question_case_id_offender_case")
        ),
        sa.ForeignKeyConstraint(
            ["victim_id"], ["victim.id"], name=op.f("fk_victim_question_victim_id_victim")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_victim_question")),
    )
    with op.batch_alter_table("victim_question") as batch:
        batch.create_index(batch.f("ix_victim_question_victim_id"), ["victim_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("victim_question") as batch:
        batch.drop_index(batch.f("ix_victim_question_victim_id"))
    op.drop_table("victim_question")
    with op.batch_alter_table("victim") as batch:
        batch.drop_column("quiet_end_hour")
        batch.drop_column("quiet_start_hour")
        batch.drop_column("time_zone")
