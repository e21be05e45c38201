"""Liaison tasks are claimed and closed with an outcome; notices retry on a time budget behind a
circuit breaker per channel.

Adds to ``liaison_task`` who took it on (``assignee``, ``claimed_at``), who closed it and why
(``closed_by``, ``close_reason``) and the outcome note (encrypted like other free text); to
``notification`` the time of its first claim, from which its retry budget runs; and the table
``circuit_breaker`` that every worker process reads.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voice.database import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
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
    with op.batch_alter_table("notification") as batch_op:
        batch_op.add_column(
            sa.Column("first_attempt_at", UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "circuit_breaker",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("retry_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("probe_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_circuit_breaker")),
    )


def downgrade() -> None:
    op.drop_table("circuit_breaker")
    with op.batch_alter_table("notification") as batch_op:
        batch_op.drop_column("first_attempt_at")
    with op.batch_alter_table("liaison_task") as batch_op:
        batch_op.drop_index("ix_liaison_task_assignee")
        batch_op.drop_column("outcome_note")
        batch_op.drop_column("close_reason")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("assignee")
