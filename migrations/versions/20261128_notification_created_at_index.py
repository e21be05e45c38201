"""An index on notification (created_at): the mass-event guard counts, for every critical
event ingested, the critical events that caused notices in its window, and without the index
that count scans every notification ever written

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_notification_created_at"), "notification", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_created_at"), table_name="notification")
