"""Feed freshness (each source's last event and cadence) and the trace context of queued notices.

Sources already known start from their stored events, so a feed that is silent today is
noticed at the first check after the upgrade.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 18:41:17.243241
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voice.database

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source_feed",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_event_at", voice.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cadence_seconds", sa.Float(), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("silent_since", voice.database.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_source_feed")),
    )
    op.execute(
        "INSERT INTO source_feed (source, first_seen_at, last_event_at, events) "
        "SELECT source, MIN(received_at), MAX(received_at), COUNT(*) FROM case_event "
        "GROUP BY source"
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("traceparent", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("traceparent")

    op.drop_table("source_feed")
