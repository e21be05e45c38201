"""Writing the outbox: which notifications an event causes.

Called inside the ingest transaction, so an event and every notice it causes commit together.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice import tracing
from voice.cases.models import CaseEvent
from voice.config import Settings, get_settings
from voice.database import UTCDateTime, insert_rows, utcnow
from voice.disclosure.policy import Policy
from voice.disclosure.release import Audience, release
from voice.holds import service as holds_service
from voice.notify import contacts, guard
from voice.notify.models import CRITICAL_EVENT_TYPES, Channel, Notification, NotificationStatus
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink

# Statuses meaning a notice may have reached the person; they are owed a correction.
POSSIBLY_TOLD = (
    NotificationStatus.SENDING,
    NotificationStatus.SENT,
    NotificationStatus.DELIVERED,
    NotificationStatus.TEMPORARY_FAILURE,
)


def chosen_channels(link: VictimCaseLink, victim: Victim) -> list[Channel]:
    channels = []
    if link.notify_email and victim.email and victim.email_verified:
        channels.append(Channel.EMAIL)
    if link.notify_sms and victim.phone and victim.phone_verified:
        channels.append(Channel.SMS)
    return channels


def _verified() -> Any:
    return (
        select(VictimCaseLink, Victim)
        .join(Victim, col(Victim.id) == col(VictimCaseLink.victim_id))
        .where(
            VictimCaseLink.verification_status == VerificationStatus.VERIFIED,
            col(Victim.active).is_(True),
        )
        .order_by(col(VictimCaseLink.id))
    )


# Built once: ingest reads the links of every event's case.
_LINKED = _verified().where(
    col(VictimCaseLink.case_id).in_(sa.bindparam("case_ids", expanding=True))
)
# The same, with whether each link's case is under a safety hold: the two reads in one.
_LINKED_HELD = _LINKED.add_columns(
    holds_service.held(
        VictimCaseLink.__table__.c.case_id,  # type: ignore[attr-defined]
        sa.bindparam("now", type_=UTCDateTime),
    )
)


def _linked(session: Session, case_ids: Iterable[int]) -> list[tuple[VictimCaseLink, Victim]]:
    """The active, verified links of these cases, in link order."""
    return list(session.exec(_LINKED, params={"case_ids": sorted(case_ids)}).all())


def _linked_and_held(
    session: Session, case_ids: set[int]
) -> tuple[list[tuple[VictimCaseLink, Victim]], set[int]]:
    """``_linked`` for these cases, and those of them under a safety hold now: the holds of
    linked cases come with their links, the others' (rarely any) from a query of their own."""
    now = utcnow()
    params = {"case_ids": sorted(case_ids), "now": now}
    found: list[tuple[VictimCaseLink, Victim]] = []
    held: set[int] = set()
    for link, victim, is_held in session.exec(_LINKED_HELD, params=params):
        found.append((link, victim))
        if is_held:
            held.add(link.case_id)
    unlinked = case_ids - {link.case_id for link, _ in found}
    if unlinked:
        held |= holds_service.held_case_ids(session=session, case_ids=unlinked, now=now)
    return found, held


def _told(session: Session, correction: CaseEvent) -> list[tuple[VictimCaseLink, Victim]]:
    """Only those who may have been told of the retracted event hear of its correction."""
    told = (
        select(Notification.link_id)
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .where(
            CaseEvent.retracted_by_id == correction.id,
            col(Notification.status).in_(POSSIBLY_TOLD),
        )
    )
    return list(session.exec(_verified().where(col(VictimCaseLink.id).in_(told))).all())


def enqueue_for_event(
    *, session: Session, event: CaseEvent, policy: Policy, settings: Settings | None = None
) -> int:
    """Add one notification per verified link x chosen channel; return how many.

    Suppressed contact points (opted out, hard-bounced) get none. Critical notices of a burst
    that trips the mass-event guard are written ``held`` instead of ``created``.
    """
    fanout = Fanout(session=session, policy=policy, settings=settings)
    queued = fanout.add(event)
    fanout.flush()
    return queued


class Fanout:
    """The notifications of a run of events in one transaction, added in order.

    Ingest changes no link, victim, suppression or safety hold, so these are read once for all
    the cases of the run (``expect``) rather than once per event. The rows wait in memory and
    go out in one insert: at ``flush``, and before the mass-event guard counts recent notices,
    so that it counts exactly what it would have counted event by event.
    """

    def __init__(
        self, *, session: Session, policy: Policy, settings: Settings | None = None
    ) -> None:
        self._session = session
        self._policy = policy
        self._settings = settings
        self._expected: set[int] = set()
        self._held: dict[int, bool] = {}
        self._recipients: dict[int, list[tuple[VictimCaseLink, Victim]]] = {}
        self._suppressed: set[tuple[Channel, str]] = set()
        self._targets: dict[int, list[tuple[VictimCaseLink, Channel]]] = {}
        self._rows: list[dict[str, object]] = []
        # Critical events among the unsaved rows, with guarded notices: the guard counts them.
        self._critical: set[int | None] = set()
        self._pause: int | None = None

    def expect(self, case_ids: Iterable[int]) -> None:
        """Cases whose events are coming: their links and holds are read together."""
        self._expected.update(case_ids)

    def _load(self, case_id: int) -> None:
        if case_id in self._held and not self._expected:
            return  # the usual case in a run: asked once per event, loaded at the first
        wanted = {c for c in self._expected | {case_id} if c not in self._held}
        self._expected = set()
        if not wanted:
            return
        found, held = _linked_and_held(self._session, wanted)
        for id_ in wanted:
            self._held[id_] = id_ in held
            self._recipients[id_] = []
        for link, victim in found:
            self._recipients[link.case_id].append((link, victim))
        self._suppressed |= _suppressed(self._session, found)

    def add(self, event: CaseEvent) -> int:
        """Queue ``event``'s notifications; return how many."""
        if event.retracted_by_id is not None:
            return 0  # already corrected before it arrived: there is nothing true to tell
        self._load(event.case_id)
        # A first look through the one door: an event nothing of which may reach a victim
        # queues nothing. The worker releases it again at send time, and accounts for it there.
        view = release(
            session=self._session,
            policy=self._policy,
            audience=Audience.VICTIM_VERIFIED,
            event=event,
            held=self._held[event.case_id],
        )
        if "event.event_type" not in view.released:
            return 0  # nothing about this event may go to a victim at all
        if event.event_type == "correction":
            recipients = _told(self._session, event)
            targets = _targets(recipients, _suppressed(self._session, recipients))
        else:
            targets = self._case_targets(event.case_id)
        if not targets:
            return 0
        critical = event.event_type in CRITICAL_EVENT_TYPES and not guard.is_suspended()
        pause_id = self._pause if critical else None
        if pause_id is None:
            pause_id = guard.pause_for(
                session=self._session,
                settings=self._settings or get_settings(),
                event=event,
                unsaved=len(self._critical),
            )
        if pause_id is not None and critical and self._pause is None:
            # Once open, a pause takes every critical notice after it in the run: holding
            # notices is the safe side, and no one can decide a pause inside this transaction.
            self._pause = pause_id
            self._join(pause_id)
        traceparent = tracing.current_traceparent()
        now = utcnow()
        self._rows += [
            {
                "event_id": event.id,
                "link_id": link.id,
                "channel": channel,
                "status": (
                    NotificationStatus.CREATED if pause_id is None else NotificationStatus.PAUSED
                ),
                "pause_id": pause_id,
                "guarded": not guard.is_suspended(),
                "traceparent": traceparent,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for link, channel in targets
        ]
        if critical:
            self._critical.add(event.id)
        return len(targets)

    def _case_targets(self, case_id: int) -> list[tuple[VictimCaseLink, Channel]]:
        """Who hears of a (non-correction) event on this case, and how: the same for every
        event of the run, so worked out at its first."""
        targets = self._targets.get(case_id)
        if targets is None:
            targets = _targets(self._recipients[case_id], self._suppressed)
            self._targets[case_id] = targets
        return targets

    def _join(self, pause_id: int) -> None:
        """What the guard does to stored notices when it trips, done to the unsaved ones."""
        for row in self._rows:
            if row["event_id"] in self._critical and row["status"] == NotificationStatus.CREATED:
                row["status"], row["pause_id"] = NotificationStatus.PAUSED, pause_id

    def flush(self) -> None:
        if self._rows:
            # One multi-row INSERT: a case with thousands of registrants fans out in one
            # statement, and a batch of events in one too.
            table: sa.Table = Notification.__table__  # type: ignore[attr-defined]
            insert_rows(self._session, table, self._rows)
            self._rows = []
            self._critical = set()


def _targets(
    recipients: list[tuple[VictimCaseLink, Victim]], suppressed: set[tuple[Channel, str]]
) -> list[tuple[VictimCaseLink, Channel]]:
    """Each recipient's chosen channels, but for suppressed contact points."""
    return [
        (link, channel)
        for link, victim in recipients
        for channel in chosen_channels(link, victim)
        if (channel, _address(victim, channel)) not in suppressed
    ]


def _address(victim: Victim, channel: Channel) -> str:
    address = victim.email if channel is Channel.EMAIL else victim.phone
    return contacts.normalise(channel, address or "")


def _suppressed(
    session: Session, recipients: list[tuple[VictimCaseLink, Victim]]
) -> set[tuple[Channel, str]]:
    wanted = {
        (channel, _address(v, channel))
        for channel in Channel
        for _, v in recipients
        if v.email or v.phone
    }
    wanted = {(channel, address) for channel, address in wanted if address}
    if not wanted:
        return set()
    return contacts.suppressed_pairs(session=session, wanted=wanted)


def count_for_event(*, session: Session, event_id: int) -> int:
    return len(session.exec(select(Notification.id).where(Notification.event_id == event_id)).all())
