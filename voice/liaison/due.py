"""When a liaison task is due: its service level, counted from when it was opened.

A victim who has not confirmed a release notice may be in danger now; a bad email address can
wait a few days. The work queue sorts by this, overdue first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from voice.liaison.models import LiaisonTask, TaskKind

DUE_WITHIN: dict[str, timedelta] = {
    TaskKind.UNACKNOWLEDGED_NOTICE: timedelta(hours=4),
    TaskKind.UNDELIVERED_NOTICE: timedelta(hours=1),
    TaskKind.MASS_EVENT_PAUSE: timedelta(hours=1),
    TaskKind.DELIVERY_FAILED: timedelta(days=1),
    TaskKind.INVALID_CONTACT: timedelta(days=3),
}
# Kinds added later get a working day until someone gives them a level of their own.
DEFAULT_DUE_WITHIN = timedelta(days=1)


def due_at(task: LiaisonTask) -> datetime:
    return task.created_at + DUE_WITHIN.get(task.kind, DEFAULT_DUE_WITHIN)


def by_due(tasks: list[LiaisonTask]) -> list[LiaisonTask]:
    """Soonest due first, so overdue tasks lead; ties by id, oldest first."""
    return sorted(tasks, key=lambda t: (due_at(t), t.id or 0))
