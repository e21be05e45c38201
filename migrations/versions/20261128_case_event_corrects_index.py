"""An index on case_event (source, corrects): ingest asks, for every event, whether a stored
correction already retracts it, and without the index that read scans the source's events

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_case_event_source_corrects"), "case_event", ["source", "corrects"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_case_event_source_corrects"), table_name="case_event")
