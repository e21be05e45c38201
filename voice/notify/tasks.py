"""The outbox worker's jobs: claim notifications, render them, send them, account for them.

A claim is a lease, committed before anything is sent. A worker that dies mid-send leaves its
rows in ``sending`` until the lease runs out; then any worker claims them again. Sends carry a
stable reference per notification, so the repeat replaces rather than duplicates the message.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.audit import service as audit_service
from voice.cases.models import Case, CaseEvent, Subject
from voice.database import UTCDateTime
from voice.holds import service as holds_service
from voice.notify import contacts, leases, outbox, quiet_hours
from voice.notify.context import WorkerContext
from voice.notify.models import Notification, NotificationStatus
from voice.notify.prepare import RENDER_FAILED, message_id_for
from voice.notify.prepare import Prepared as _Prepared
from voice.notify.prepare import prepare as _prepare
from voice.notify.settle import _cancel, _defer, _fail, _settle_all
from voice.victims.models import Victim, VictimCaseLink

log = logging.getLogger(__name__)

# ``_prepare`` stays reachable here: tests and the crash harness replace it on this module.
__all__ = [
    "RENDER_FAILED",
    "WorkerContext",
    "_Prepared",
    "_prepare",
    "claim",
    "deliver",
    "deliver_batch",
    "message_id_for",
    "run_once",
]


def claim(
    *, session: Session, worker_id: str, now: datetime, lease_seconds: float, limit: int
) -> list[int]:
    """Lease up to ``limit`` due notifications to this worker and return their ids."""
    return leases.claim_due(
        session=session,
        model=Notification,
        ready=[NotificationStatus.CREATED],
        worker_id=worker_id,
        now=now,
        lease_seconds=lease_seconds,
        limit=limit,
        also_set={
            "updated_at": now,
            "first_attempt_at": sa.func.coalesce(
                col(Notification.first_attempt_at), sa.literal(now, UTCDateTime())
            ),
        },
    )


def deliver(ctx: WorkerContext, notification_id: int) -> NotificationStatus | None:
    """Send one claimed notification; return its new status (None if the lease was lost)."""
    return deliver_batch(ctx, [notification_id])[notification_id]


def deliver_batch(
    ctx: WorkerContext, notification_ids: list[int]
) -> dict[int, NotificationStatus | None]:
    """Send claimed notifications through the one delivery loop (``voice.notify.outbox``).

    The settle writes the accounting of disclosures in the same commit as the sent state.
    """
    return outbox.deliver_batch(ctx, NOTIFICATIONS, notification_ids)


class NotificationOutbox:
    """Notifications, as the delivery loop sees them."""

    claim = staticmethod(claim)

    def prepare(
        self, session: Session, ctx: WorkerContext, ids: list[int]
    ) -> tuple[list[_Prepared], dict[int, Any]]:
        outcomes: dict[int, Any] = {}
        ready: list[_Prepared] = []
        # Held for the whole loop: the session's identity map keeps only what is referenced.
        loaded = _preload(session, ids)
        with holds_service.known(session=session, case_ids=loaded.case_ids):
            for notification_id in ids:
                notification = loaded.notifications.get(notification_id) or session.get_one(
                    Notification, notification_id
                )
                if notification.attempts > ctx.settings.worker_max_attempts:
                    # A row that keeps killing its workers must stop somewhere.
                    outcomes[notification_id] = _fail(
                        session, ctx, notification_id, "attempt budget spent"
                    )
                    continue
                # Looked up on this module each time: tests and the crash harness replace it.
                prepared = globals()["_prepare"](session, ctx, notification_id)
                if isinstance(prepared, _Prepared):
                    ready.append(prepared)
                elif isinstance(prepared, quiet_hours.QuietUntil):
                    # Inside the recipient's quiet hours: not sent, due again in their morning.
                    outcomes[notification_id] = quiet_hours.defer(
                        session, ctx, notification_id, prepared.until
                    )
                elif prepared == "lease lost":
                    outcomes[notification_id] = None
                elif prepared == RENDER_FAILED:
                    outcomes[notification_id] = _fail(session, ctx, notification_id, prepared)
                else:
                    outcomes[notification_id] = _cancel(session, ctx, notification_id, prepared)
        # The recipients' accounting references, looked up (or made) here rather than in the
        # hand-over's commit, which the send threads wait for. One that is never sent to is
        # a reference without records: it names no disclosure.
        refs = audit_service.references(
            session=session, recipients=[("victim", p.recipient_id) for p in ready]
        )
        ready = [
            dataclasses.replace(p, recipient_ref=refs[("victim", p.recipient_id)]) for p in ready
        ]
        return ready, outcomes

    def settle(
        self,
        session: Session,
        ctx: WorkerContext,
        ready: list[_Prepared],
        results: list[outbox.SendResult],
    ) -> dict[int, Any]:
        return dict(_settle_all(session, ctx, ready, results))

    def defer(
        self, session: Session, ctx: WorkerContext, deferred: list[tuple[_Prepared, datetime]]
    ) -> dict[int, Any]:
        return {
            p.notification_id: _defer(session, ctx, p.notification_id, when) for p, when in deferred
        }


NOTIFICATIONS = NotificationOutbox()


@dataclass
class _Loaded:
    """A batch's rows, read in one query per table. Holding them keeps them in the session's
    identity map, so that the per-notice reads (``session.get``) find them without a query."""

    notifications: dict[int, Notification]
    rows: list[Any]
    case_ids: set[int]


def _by_id(session: Session, model: Any, ids: set[int]) -> list[Any]:
    if not ids:
        return []
    return list(session.exec(select(model).where(col(model.id).in_(sorted(ids)))).all())


def _preload(session: Session, notification_ids: list[int]) -> _Loaded:
    """Load a batch's notifications, events, links, victims, cases and subjects, one query
    each, and its contact points' suppressions in one more."""
    notifications: list[Notification] = _by_id(session, Notification, set(notification_ids))
    events: list[CaseEvent] = _by_id(session, CaseEvent, {n.event_id for n in notifications})
    links: list[VictimCaseLink] = _by_id(
        session, VictimCaseLink, {n.link_id for n in notifications}
    )
    victims: list[Victim] = _by_id(session, Victim, {link.victim_id for link in links})
    case_ids = {event.case_id for event in events}
    cases: list[Case] = _by_id(session, Case, case_ids)
    subjects: list[Subject] = _by_id(session, Subject, {case.subject_id for case in cases})
    contacts.preload(
        session=session,
        emails={v.email for v in victims if v.email},
        phones={v.phone for v in victims if v.phone},
    )
    return _Loaded(
        notifications={n.id: n for n in notifications if n.id is not None},
        rows=[*events, *links, *victims, *cases, *subjects],
        case_ids=case_ids,
    )


def run_once(ctx: WorkerContext) -> int:
    """Claim one batch and deliver it; return how many notifications were claimed."""
    return outbox.run_once(ctx, NOTIFICATIONS)
