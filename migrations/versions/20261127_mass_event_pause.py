"""The mass-event guard's holds become pauses: "hold" now means a safety hold alone.

Renames the table ``notification_hold`` to ``mass_event_pause``, the columns that point at it
to ``pause_id``, the notification status ``held`` to ``paused`` and the liaison task kind
``mass_event_hold`` to ``mass_event_pause``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rename(
    old_table: str,
    new_table: str,
    old_col: str,
    new_col: str,
    status: tuple[str, str],
    kind: tuple[str, str],
) -> None:
    with op.batch_alter_table("notification") as batch_op:
        batch_op.drop_constraint(f"fk_notification_{old_col}_{old_table}", type_="foreignkey")
        batch_op.drop_index(f"ix_notification_{old_col}")
    with op.batch_alter_table("liaison_task") as batch_op:
        batch_op.drop_constraint(f"fk_liaison_task_{old_col}_{old_table}", type_="foreignkey")
    with op.batch_alter_table(old_table) as batch_op:
        batch_op.drop_index(f"ix_{old_table}_status")
    op.rename_table(old_table, new_table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {new_table} RENAME CONSTRAINT pk_{old_table} TO pk_{new_table}")
    op.create_index(f"ix_{new_table}_status", new_table, ["status"])
    # Renamed in a batch of its own: SQLite rebuilds the table, and the new index and foreign key
    # must see the new name.
    with op.batch_alter_table("notification") as batch_op:
        batch_op.alter_column(old_col, new_column_name=new_col, existing_type=sa.Integer())
    with op.batch_alter_table("notification") as batch_op:
        batch_op.create_index(f"ix_notification_{new_col}", [new_col])
        batch_op.create_foreign_key(
            f"fk_notification_{new_col}_{new_table}", new_table, [new_col], ["id"]
        )
    with op.batch_alter_table("liaison_task") as batch_op:
        batch_op.alter_column(old_col, new_column_name=new_col, existing_type=sa.Integer())
    with op.batch_alter_table("liaison_task") as batch_op:
        batch_op.create_foreign_key(
            f"fk_liaison_task_{new_col}_{new_table}", new_table, [new_col], ["id"]
        )
    notification = sa.table("notification", sa.column("status", sa.String))
    op.execute(
        notification.update().where(notification.c.status == status[0]).values(status=status[1])
    )
    task = sa.table("liaison_task", sa.column("kind", sa.String))
    op.execute(task.update().where(task.c.kind == kind[0]).values(kind=kind[1]))


def upgrade() -> None:
    _rename(
        "notification_hold",
        "mass_event_pause",
        "hold_id",
        "pause_id",
        ("held", "paused"),
        ("mass_event_hold", "mass_event_pause"),
    )


def downgrade() -> None:
    _rename(
        "mass_event_pause",
        "notification_hold",
        "pause_id",
        "hold_id",
        ("paused", "held"),
        ("mass_event_pause", "mass_event_hold"),
    )
