"""Liaison tasks are claimed by staff and closed with an outcome note

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voice.database import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("liaison_task") as batch_op:
        batch_op.add_column(sa.Column("assignee", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("close_reason", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("outcome_note", sa.Text(), nullable=True))
        batch_op.create_index("ix_liaison_task_assignee", ["assignee"])


def downgrade() -> None:
    with op.batch_alter_table("liaison_task") as batch_op:
        batch_op.drop_index("ix_liaison_task_assignee")
        batch_op.drop_column("outcome_note")
        batch_op.drop_column("close_reason")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("assignee")
