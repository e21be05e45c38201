"""Feed freshness: a source that falls silent for far longer than it usually does is reported."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from tests import factories
from voice.config import Settings
from voice.database import utcnow
from voice.disclosure.policy import Policy
from voice.ingest import freshness
from voice.ingest.models import SourceFeed
from voice.ingest.service import ingest_event
from voice.liaison.models import LiaisonTask, TaskKind


def test_ingest_keeps_each_sources_last_event_and_cadence(session: Session, policy: Policy) -> None:
    start = utcnow() - timedelta(hours=3)
    for hour in range(3):
        freshness.seen(session=session, source="jail-feed", at=start + timedelta(hours=hour))
    feed = session.get_one(SourceFeed, "jail-feed")
    assert feed.events == 3
    assert feed.cadence_seconds == 3600
    ingest_event(session=session, candidate=factories.booking(source="enforce"), policy=policy)
    assert session.get_one(SourceFeed, "enforce").events == 1


def test_a_silent_source_raises_one_task_and_clears_when_it_speaks_again(
    session: Session, settings: Settings
) -> None:
    start = utcnow() - timedelta(days=10)
    for hour in range(4):  # an hourly feed...
        freshness.seen(session=session, source="jail-feed", at=start + timedelta(hours=hour))
    quiet = settings.model_copy(
        update={"feed_silence_factor": 6.0, "feed_silence_floor_seconds": 3600.0}
    )
    early = start + timedelta(hours=3, minutes=30)
    assert freshness.check(session=session, settings=quiet, now=early) == 0
    later = start + timedelta(hours=12)  # ...quiet for nine hours: six gaps and then some
    assert [
        s.source for s in freshness.silent_feeds(session=session, settings=quiet, now=later)
    ] == ["jail-feed"]
    assert freshness.check(session=session, settings=quiet, now=later) == 1
    assert freshness.check(session=session, settings=quiet, now=later + timedelta(hours=1)) == 0
    tasks = session.exec(select(LiaisonTask).where(LiaisonTask.kind == TaskKind.FEED_SILENT)).all()
    assert len(tasks) == 1
    assert "jail-feed" in tasks[0].reason
    freshness.seen(session=session, source="jail-feed", at=later + timedelta(hours=2))
    assert (
        freshness.silent_feeds(session=session, settings=quiet, now=later + timedelta(hours=2))
        == []
    )


def test_a_new_source_is_held_to_the_floor_until_it_has_a_cadence(
    session: Session, settings: Settings
) -> None:
    start = utcnow() - timedelta(days=2)
    freshness.seen(session=session, source="once", at=start)
    floor = settings.model_copy(update={"feed_silence_floor_seconds": 86400.0})
    assert (
        freshness.silent_feeds(session=session, settings=floor, now=start + timedelta(hours=23))
        == []
    )
    assert (
        len(freshness.silent_feeds(session=session, settings=floor, now=start + timedelta(days=2)))
        == 1
    )


def test_the_cadence_is_kept_to_the_microsecond_and_a_late_arrival_moves_nothing(
    session: Session,
) -> None:
    start = utcnow() - timedelta(days=1)
    gaps = [timedelta(seconds=90, microseconds=123457), timedelta(minutes=7, microseconds=999999)]
    arrivals = [start, start + gaps[0], start + gaps[0] + gaps[1]]
    for at in arrivals:
        freshness.seen(session=session, source="uneven", at=at)
    # An arrival stamped before the last one counts as an event but not as a gap.
    freshness.seen(session=session, source="uneven", at=start, events=2)
    feed = session.get_one(SourceFeed, "uneven")
    expected = 0.8 * gaps[0].total_seconds() + 0.2 * gaps[1].total_seconds()
    assert (feed.events, feed.last_event_at, feed.cadence_seconds) == (5, arrivals[-1], expected)
