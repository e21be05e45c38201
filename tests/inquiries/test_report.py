"""Figures for the quarterly report: volume by category and channel, service levels met and the
median time to first response, from the service function and from ``voice inquiries report``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice import cli
from voice.config import Settings
from voice.database import transaction
from voice.inquiries import intake, report
from voice.inquiries.models import Category, Inquiry

MONDAY_9AM = datetime(2026, 10, 5, 13, 0, tzinfo=UTC)  # 09:00 in New York (EDT)


def _answered(session: Session, inquiry: Inquiry, after: timedelta) -> None:
    inquiry.first_responded_at = inquiry.received_at + after
    inquiry.resolved_at = inquiry.received_at + after
    session.add(inquiry)


def _load(session: Session, settings: Settings) -> None:
    for i, (category, after) in enumerate(
        (
            (Category.CASE_STATUS, timedelta(hours=1)),
            (Category.CASE_STATUS, timedelta(hours=3)),
            (Category.HEARING, timedelta(hours=5)),  # a 4-hour target: missed
            (Category.UNRELATED, None),
        )
    ):
        inquiry = intake.log_call(
            session=session,
            settings=settings,
            staff="liaison-1",
            summary="a call",
            category=category,
            caller_phone=f"+1555016100{i}",
            now=MONDAY_9AM + timedelta(minutes=i),
        )
        if after is not None:
            _answered(session, inquiry, after)
    intake.from_sms(
        session=session, settings=settings, sender="+15550161009", body="hi", now=MONDAY_9AM
    )
    # Outside the period.
    intake.from_sms(
        session=session,
        settings=settings,
        sender="+15550161010",
        body="hi",
        now=MONDAY_9AM + timedelta(days=120),
    )
    session.flush()


def test_figures_for_a_quarter(session: Session, settings: Settings) -> None:
    _load(session, settings)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    figures = report.figures(
        session=session, settings=settings, start=start, end=datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert figures.total == 5
    assert figures.by_channel == {"web": 0, "sms": 1, "email": 0, "phone": 4}
    assert figures.by_category["case_status"] == 3  # two calls and the text
    assert figures.by_category["hearing"] == 1
    assert figures.by_category["safety_concern"] == 0
    # All five targets fell due within the quarter; three met.
    assert (figures.first_response.due, figures.first_response.met) == (5, 2)
    assert figures.median_first_response_minutes == 180.0
    assert figures.as_dict()["first_response"]["rate"] == 0.4


@pytest.mark.usefixtures("voice_env")
def test_the_report_command_prints_the_figures(
    committed_engine: Engine, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with transaction(committed_engine) as session:
        _load(session, settings)
    assert cli.main(["inquiries", "report", "--from", "2026-10-01", "--to", "2026-12-31"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["total"] == 5
    assert printed["median_first_response_minutes"] == 180.0
    assert printed["by_channel"]["phone"] == 4
    assert printed["first_response"]["met"] == 2
    with pytest.raises(SystemExit):
        cli.main(["inquiries", "report", "--from", "2026-12-31", "--to", "2026-10-01"])
