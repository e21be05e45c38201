"""Writing the outbox: which notifications an event causes.

Called inside the ingest transaction, so an event and every notice it causes commit together.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice import tracing
from voice.cases.fields import CaseState, SubjectState
from voice.cases.models import CaseEvent
from voice.config import Settings, get_settings
from voice.database import SessionStatement, UTCDateTime, insert_rows, utcnow
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
    return _chosen(
        link.notify_email,
        link.notify_sms,
        victim.email,
        victim.email_verified,
        victim.phone,
        victim.phone_verified,
    )


def _chosen(
    notify_email: bool,
    notify_sms: bool,
    email: str | None,
    email_verified: bool,
    phone: str | None,
    phone_verified: bool,
) -> list[Channel]:
    channels = []
    if notify_email and email and email_verified:
        channels.append(Channel.EMAIL)
    if notify_sms and phone and phone_verified:
        channels.append(Channel.SMS)
    return channels


class _Recipient(NamedTuple):
    """A verified link as the fanout needs it: where its notices go, and every contact point
    of its victim (what the suppression read asks about), normalised."""

    link_id: int
    case_id: int
    targets: tuple[tuple[Channel, str], ...]
    addresses: tuple[tuple[Channel, str], ...]


def _recipient(
    link_id: int,
    case_id: int,
    notify_email: bool,
    notify_sms: bool,
    email: str | None,
    email_verified: bool,
    phone: str | None,
    phone_verified: bool,
) -> _Recipient:
    normalised = {
        Channel.EMAIL: contacts.normalise(Channel.EMAIL, email or ""),
        Channel.SMS: contacts.normalise(Channel.SMS, phone or ""),
    }
    chosen = _chosen(notify_email, notify_sms, email, email_verified, phone, phone_verified)
    return _Recipient(
        link_id,
        case_id,
        tuple((channel, normalised[channel]) for channel in chosen),
        tuple(normalised.items()) if email or phone else (),
    )


def _recipient_of(link: VictimCaseLink, victim: Victim) -> _Recipient:
    assert link.id is not None
    return _recipient(
        link.id,
        link.case_id,
        link.notify_email,
        link.notify_sms,
        victim.email,
        victim.email_verified,
        victim.phone,
        victim.phone_verified,
    )


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


# Built once: ingest reads the links of every event's case, with whether each link's case is
# under a safety hold (the two reads in one). In Core, with only what choosing the channels
# needs: loading each link and victim as objects (and decrypting the victim's names) cost
# several times the read.
_LINK: sa.Table = VictimCaseLink.__table__  # type: ignore[attr-defined]
_VICTIM: sa.Table = Victim.__table__  # type: ignore[attr-defined]
_LINKED_HELD = SessionStatement(
    sa.select(
        _LINK.c.id,
        _LINK.c.case_id,
        _LINK.c.notify_email,
        _LINK.c.notify_sms,
        _VICTIM.c.email,
        _VICTIM.c.email_verified,
        _VICTIM.c.phone,
        _VICTIM.c.phone_verified,
        holds_service.held(_LINK.c.case_id, sa.bindparam("now", type_=UTCDateTime)),
    )
    .join(_VICTIM, _VICTIM.c.id == _LINK.c.victim_id)
    .where(
        _LINK.c.verification_status == VerificationStatus.VERIFIED,
        _VICTIM.c.active.is_(True),
        _LINK.c.case_id.in_(sa.bindparam("case_ids", expanding=True)),
    )
    .order_by(_LINK.c.id)
)


def _linked_and_held(session: Session, case_ids: set[int]) -> tuple[list[_Recipient], set[int]]:
    """The active, verified links of these cases, in link order, and those of the cases under a
    safety hold now: the holds of linked cases come with their links, the others' (rarely any)
    from a query of their own."""
    now = utcnow()
    params = {"case_ids": sorted(case_ids), "now": now}
    found: list[_Recipient] = []
    held: set[int] = set()
    for *values, is_held in _LINKED_HELD.execute(session, params).rows:
        recipient = _recipient(*values)
        found.append(recipient)
        if is_held:
            held.add(recipient.case_id)
    unlinked = case_ids - {recipient.case_id for recipient in found}
    if unlinked:
        held |= holds_service.held_case_ids(session=session, case_ids=unlinked, now=now)
    return found, held


def _told(session: Session, correction: CaseEvent) -> list[_Recipient]:
    """Only those who may have been told of the retracted event hear of its correction."""
    told = (
        select(Notification.link_id)
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .where(
            CaseEvent.retracted_by_id == correction.id,
            col(Notification.status).in_(POSSIBLY_TOLD),
        )
    )
    rows = session.exec(_verified().where(col(VictimCaseLink.id).in_(told))).all()
    return [_recipient_of(link, victim) for link, victim in rows]


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


_NOTIFICATIONS: sa.Table = Notification.__table__  # type: ignore[attr-defined]


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
        self._recipients: dict[int, list[_Recipient]] = {}
        self._suppressed: set[tuple[Channel, str]] = set()
        self._targets: dict[int, list[tuple[int, Channel]]] = {}
        self._rows: list[dict[str, object]] = []
        # Critical events among the unsaved rows, with guarded notices: the guard counts them.
        self._critical: set[int | None] = set()
        self._pause: int | None = None
        # The run's notices are created at one time, its start: they commit together, and
        # a batch's thousand rows then bind one timestamp rather than one per event.
        self._now = utcnow()

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
        for recipient in found:
            self._recipients[recipient.case_id].append(recipient)
        self._suppressed |= _suppressed(self._session, found)

    def add(self, event: CaseEvent, folded: tuple[SubjectState, CaseState] | None = None) -> int:
        """Queue ``event``'s notifications; return how many. ``folded`` is as for ``release``:
        the event's subject and case as the caller's fold left them, not yet written."""
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
            folded=folded,
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
        now = self._now
        self._rows += [
            {
                "event_id": event.id,
                "link_id": link_id,
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
            for link_id, channel in targets
        ]
        if critical:
            self._critical.add(event.id)
        return len(targets)

    def _case_targets(self, case_id: int) -> list[tuple[int, Channel]]:
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
            insert_rows(self._session, _NOTIFICATIONS, self._rows)
            self._rows = []
            self._critical = set()


def _targets(
    recipients: list[_Recipient], suppressed: set[tuple[Channel, str]]
) -> list[tuple[int, Channel]]:
    """Each recipient's link and chosen channels, but for suppressed contact points."""
    return [
        (recipient.link_id, channel)
        for recipient in recipients
        for channel, address in recipient.targets
        if (channel, address) not in suppressed
    ]


def _suppressed(session: Session, recipients: list[_Recipient]) -> set[tuple[Channel, str]]:
    wanted = {pair for recipient in recipients for pair in recipient.addresses if pair[1]}
    if not wanted:
        return set()
    return contacts.suppressed_pairs(session=session, wanted=wanted)


def count_for_event(*, session: Session, event_id: int) -> int:
    return len(session.exec(select(Notification.id).where(Notification.event_id == event_id)).all())
