"""Leased claims on outbox rows (ADR 0001), shared by notifications and staff messages.

A claim moves due rows to ``sending`` under this worker's name until ``claimed_until`` and
counts the attempt, in one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``. A row
whose lease ran out (its worker died) is due again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

SENDING = "sending"


def claim_due(
    *,
    session: Session,
    model: Any,
    ready: Sequence[str],
    worker_id: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    also_set: dict[str, Any] | None = None,
) -> list[int]:
    """Lease up to ``limit`` due rows of ``model`` to this worker and return their ids."""
    due = due_clause(model, ready, now)
    # FOR UPDATE SKIP LOCKED on PostgreSQL lets many workers claim side by side; SQLite ignores
    # it and serialises writers instead (BEGIN IMMEDIATE), which gives the same guarantee.
    candidates = (
        sa.select(col(model.id))
        .where(due)
        .order_by(col(model.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        sa.update(model)
        .where(col(model.id).in_(candidates.scalar_subquery()))
        .values(
            status=SENDING,
            claimed_by=worker_id,
            claimed_until=now + timedelta(seconds=lease_seconds),
            attempts=col(model.attempts) + 1,
            **(also_set or {}),
        )
        .returning(col(model.id))
        .execution_options(synchronize_session=False)
    )
    return sorted(session.execute(statement).scalars().all())


def due_clause(model: Any, ready: Sequence[str], now: datetime) -> sa.ColumnElement[bool]:
    """What ``claim_due`` leases: ready and due, or sending with its lease run out."""
    return sa.or_(
        sa.and_(col(model.status).in_(ready), col(model.next_attempt_at) <= now),
        sa.and_(col(model.status) == SENDING, col(model.claimed_until) < now),
    )


def any_due(
    *, session: Session, tables: Sequence[tuple[Any, Sequence[str]]], now: datetime
) -> list[bool]:
    """For each (model, ready statuses), whether anything is due, in one statement.

    A read, so a worker can skip claims that would find nothing: a claim is a write
    transaction, and on SQLite an empty one still waits its turn for the database's lock."""
    exists = [
        sa.select(col(model.id)).where(due_clause(model, ready, now)).exists()
        for model, ready in tables
    ]
    row = session.execute(sa.select(*exists)).one()
    return [bool(value) for value in row]
