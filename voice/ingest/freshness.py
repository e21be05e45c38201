"""Feed freshness: each upstream source's last event and usual cadence, and the alarm when a
source falls silent.

A jail or enforcement feed that stops sending looks, from here, exactly like a quiet week:
nobody is told anything, and victims believe nothing changed. So every event updates its
source's last-seen time and a running estimate of the gap between its events, and a periodic
check raises an alert and a liaison task for a source silent far longer than its cadence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.config import Settings
from voice.database import SecondsBetween, SessionStatement, UTCDateTime, utcnow
from voice.ingest.models import SourceFeed
from voice.liaison import service as liaison_service
from voice.liaison.models import TaskKind

log = logging.getLogger(__name__)

# How much each new gap moves the cadence estimate: slow enough that one burst of a backlog
# does not make a daily feed look like a minute-by-minute one.
_WEIGHT = 0.2


_FEED = SourceFeed.__table__  # type: ignore[attr-defined]
_NOW = sa.bindparam("b_now", type_=UTCDateTime)
# What ``_next`` computes, in the UPDATE itself: every ingest call records its source, and one
# statement costs half of a read and a write. The SET clause sees the row as it was, and the
# gap is the same float on both databases (``SecondsBetween``), so the cadence is too.
_LATER = _FEED.c.last_event_at < _NOW
_GAP = SecondsBetween(_NOW, _FEED.c.last_event_at)
_ARRIVED = SessionStatement(
    _FEED.update()
    .where(_FEED.c.source == sa.bindparam("b_source"))
    .values(
        last_event_at=sa.case((_LATER, _NOW), else_=_FEED.c.last_event_at),
        cadence_seconds=sa.case(
            (_LATER & _FEED.c.cadence_seconds.is_(None), _GAP),
            (
                _LATER,
                sa.bindparam("b_keep", type_=sa.Float) * _FEED.c.cadence_seconds
                + sa.bindparam("b_weight", type_=sa.Float) * _GAP,
            ),
            else_=_FEED.c.cadence_seconds,
        ),
        events=_FEED.c.events + sa.bindparam("b_events"),
        silent_since=None,
    )
)


def seen(*, session: Session, source: str, at: datetime | None = None, events: int = 1) -> None:
    """Record that ``source`` just sent ``events`` events (called in the ingest transaction).

    A batch arrives at one moment: it counts as one arrival for the cadence, so a backlog sent
    in one request does not make the feed look busier than it is.
    """
    now = at or utcnow()
    if session.identity_map.get(session.identity_key(SourceFeed, source)) is not None:
        # The session holds the row as an object: change it there, so it stays true.
        _seen_loaded(session, source, now, events)
        return
    params = {
        "b_source": source,
        "b_now": now,
        "b_keep": 1 - _WEIGHT,
        "b_weight": _WEIGHT,
        "b_events": events,
    }
    if _ARRIVED.execute(session, params).rowcount:
        return
    session.add(SourceFeed(source=source, first_seen_at=now, last_event_at=now, events=events))
    session.flush()


def _next(
    last_event_at: datetime, cadence: float | None, now: datetime
) -> tuple[datetime, float | None]:
    """The feed's last event time and cadence once an arrival at ``now`` is counted."""
    gap = (now - last_event_at).total_seconds()
    if gap <= 0:
        return last_event_at, cadence
    return now, gap if cadence is None else (1 - _WEIGHT) * cadence + _WEIGHT * gap


def _seen_loaded(session: Session, source: str, now: datetime, events: int) -> None:
    feed = session.get_one(SourceFeed, source)
    feed.last_event_at, feed.cadence_seconds = _next(feed.last_event_at, feed.cadence_seconds, now)
    feed.events += events
    feed.silent_since = None
    session.add(feed)
    session.flush()


@dataclass(frozen=True)
class Silence:
    source: str
    last_event_at: datetime
    allowed_seconds: float


def allowed_silence(feed: SourceFeed, settings: Settings) -> float:
    """How long ``feed`` may stay quiet: a multiple of its cadence, never under the floor."""
    cadence = feed.cadence_seconds or 0.0
    return max(settings.feed_silence_floor_seconds, settings.feed_silence_factor * cadence)


def silent_feeds(
    *, session: Session, settings: Settings, now: datetime | None = None
) -> list[Silence]:
    """Sources quiet for longer than they are allowed to be, longest silence first."""
    now = now or utcnow()
    found = []
    for feed in session.exec(select(SourceFeed).order_by(col(SourceFeed.last_event_at))).all():
        allowed = allowed_silence(feed, settings)
        if (now - feed.last_event_at).total_seconds() > allowed:
            found.append(Silence(feed.source, feed.last_event_at, allowed))
    return found


def check(*, session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Alert on every newly silent source: a log line and one liaison task per silence."""
    now = now or utcnow()
    raised = 0
    for silence in silent_feeds(session=session, settings=settings, now=now):
        feed = session.get_one(SourceFeed, silence.source)
        if feed.silent_since is not None:
            continue  # already told; it clears when the source sends again
        feed.silent_since = now
        session.add(feed)
        quiet = timedelta(seconds=int((now - feed.last_event_at).total_seconds()))
        log.error("feed silent source=%s quiet_for=%s", feed.source, quiet)
        liaison_service.open_task(
            session=session,
            kind=TaskKind.FEED_SILENT,
            dedupe_key=f"feed_silent:{feed.source}:{feed.last_event_at.isoformat()}",
            reason=f"no events from {feed.source} for {quiet}; the feed may be down"[:200],
        )
        raised += 1
    session.flush()
    return raised
