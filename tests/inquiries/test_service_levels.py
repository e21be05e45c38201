"""Service levels on the business calendar: federal holidays and weekends are skipped, a breach
escalates once to a supervisor under a frozen clock, and a safety concern alerts at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from voice.config import Settings
from voice.database import transaction
from voice.inquiries import intake, service, tasks
from voice.inquiries.calendar import BusinessCalendar
from voice.inquiries.models import Category, Inquiry, InquiryStatus
from voice.liaison.models import LiaisonTask, TaskKind
from voice.notify.context import WorkerContext
from voice.worker import run_periodic_jobs

CALENDAR = BusinessCalendar(timezone="America/New_York", start_hour=8, end_hour=17)
# 2026-11-25 is the Wednesday before Thanksgiving (Thursday 2026-11-26), 15:00 in New York.
WEDNESDAY_3PM = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


def et(day: int, month: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    # New York is UTC-5 in these winter dates.
    return datetime(year, month, day, hour + 5, minute, tzinfo=UTC)


def test_thanksgiving_and_the_weekend_are_not_business_time() -> None:
    # Two hours from 16:00 Wednesday: one that day, the next on Friday (Thursday is a holiday).
    assert CALENDAR.add(et(25, 11, 16), timedelta(hours=2)) == et(27, 11, 9)
    # Friday 16:30 plus an hour is Monday 08:30.
    assert CALENDAR.add(et(18, 12, 16, 30), timedelta(hours=1)) == et(21, 12, 8, 30)
    assert CALENDAR.between(et(25, 11, 17), et(27, 11, 8)) == timedelta(0)
    # Christmas Day and New Year's Day 2027 (a Friday) too.
    assert CALENDAR.add(et(24, 12, 16), timedelta(hours=2)) == et(28, 12, 9)
    assert CALENDAR.add(et(31, 12, 16), timedelta(hours=2)) == et(4, 1, 9, year=2027)


def test_an_observed_holiday_is_skipped() -> None:
    # Independence Day 2026 is a Saturday, observed on Friday 3 July (EDT, UTC-4).
    thursday_4pm = datetime(2026, 7, 2, 20, 0, tzinfo=UTC)
    assert CALENDAR.add(thursday_4pm, timedelta(hours=2)) == datetime(2026, 7, 6, 13, 0, tzinfo=UTC)
    assert not CALENDAR.is_business_day(datetime(2026, 7, 3).date())


def test_a_breach_escalates_once_to_a_supervisor_under_a_frozen_clock(
    session: Session, settings: Settings
) -> None:
    inquiry = intake.from_sms(
        session=session,
        settings=settings,
        sender="+15550160000",
        body="Any news on the case?",
        message_sid="SMsla1",
        now=WEDNESDAY_3PM,
    )
    assert (inquiry.category, inquiry.priority) == ("case_status", "normal")
    # Nine business hours: two on Wednesday, none on Thanksgiving, seven on Friday.
    assert inquiry.first_response_due == et(27, 11, 15)
    # Thursday night: a wall clock would be 30 hours on; the business clock has not run out.
    thursday_night = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    assert tasks.check_service_levels(
        session=session, settings=settings, now=thursday_night
    ) == tasks.Breaches(0, 0)
    friday_after_due = et(27, 11, 15, 1)
    assert tasks.check_service_levels(
        session=session, settings=settings, now=friday_after_due
    ) == tasks.Breaches(1, 0)
    assert tasks.check_service_levels(
        session=session, settings=settings, now=friday_after_due + timedelta(hours=1)
    ) == tasks.Breaches(0, 0)
    (task,) = session.exec(
        select(LiaisonTask).where(LiaisonTask.kind == TaskKind.INQUIRY_SLA_BREACH)
    ).all()
    assert task.dedupe_key == f"inquiry-breach:{inquiry.id}:first_response"
    assert "supervisor" in task.reason
    assert "news" not in task.reason
    assert inquiry.first_response_breached
    assert not inquiry.resolution_breached


def test_a_safety_concern_alerts_the_liaison_on_duty_at_once(
    session: Session, settings: Settings
) -> None:
    on_duty = settings.model_copy(update={"inquiry_duty_liaison": "liaison-duty"})
    inquiry = intake.from_sms(
        session=session,
        settings=on_duty,
        sender="+15550160001",
        body="He threatened me again last night",
        now=WEDNESDAY_3PM,
    )
    assert (inquiry.category, inquiry.priority, inquiry.priority_rank) == (
        "safety_concern",
        "urgent",
        0,
    )
    assert (inquiry.status, inquiry.assigned_to) == ("assigned", "liaison-duty")
    (task,) = session.exec(
        select(LiaisonTask).where(LiaisonTask.kind == TaskKind.INQUIRY_SAFETY_CONCERN)
    ).all()
    assert task.dedupe_key == f"inquiry-safety:{inquiry.id}"
    assert "threatened" not in task.reason
    # An hour of business time to the first response.
    assert inquiry.first_response_due == WEDNESDAY_3PM + timedelta(hours=1)


def test_triage_to_a_safety_concern_alerts_too(session: Session, settings: Settings) -> None:
    inquiry = intake.from_sms(
        session=session, settings=settings, sender="+15550160002", body="Hello", now=WEDNESDAY_3PM
    )
    service.triage(
        session=session,
        settings=settings,
        inquiry=inquiry,
        category=Category.SAFETY_CONCERN,
        now=WEDNESDAY_3PM,
    )
    assert inquiry.priority == "urgent"
    assert session.exec(
        select(LiaisonTask).where(LiaisonTask.kind == TaskKind.INQUIRY_SAFETY_CONCERN)
    ).one()


def test_statuses_move_only_along_the_allowed_transitions(
    session: Session, settings: Settings
) -> None:
    inquiry = intake.from_sms(
        session=session, settings=settings, sender="+15550160003", body="Hi", now=WEDNESDAY_3PM
    )
    with pytest.raises(service.InquiryError):
        service.move(inquiry, InquiryStatus.ANSWERED, now=WEDNESDAY_3PM)
    service.assign(session=session, inquiry=inquiry, assignee="liaison-1")
    service.move(inquiry, InquiryStatus.AWAITING_VICTIM, now=WEDNESDAY_3PM)
    service.follow_up(session=session, inquiry=inquiry, body="More", now=WEDNESDAY_3PM)
    assert inquiry.status == InquiryStatus.ASSIGNED
    service.close(session=session, inquiry=inquiry)
    for status in InquiryStatus:
        with pytest.raises(service.InquiryError):
            service.move(inquiry, status, now=WEDNESDAY_3PM)


def test_the_worker_runs_the_service_level_check(
    committed_engine: Engine, settings: Settings, ctx: WorkerContext
) -> None:
    with transaction(committed_engine) as session:
        long_ago = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
        inquiry = intake.from_sms(
            session=session, settings=settings, sender="+15550160004", body="Hi", now=long_ago
        )
        inquiry_id = inquiry.id
    run_periodic_jobs(ctx)
    with Session(committed_engine) as session:
        row = session.get_one(Inquiry, inquiry_id)
        assert row.first_response_breached
        assert row.resolution_breached
        assert len(session.exec(select(LiaisonTask)).all()) == 2
