"""``voice inquiries report --from --to``: the quarterly report's inquiry figures, as JSON."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from voice.config import get_settings
from voice.database import make_engine, transaction
from voice.inquiries import report


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def cmd_inquiries(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.to < args.start:
        raise SystemExit("voice inquiries report: --to comes before --from")
    # Whole days in the office's own time zone, --to included.
    zone = ZoneInfo(settings.inquiry_timezone)
    start = datetime.combine(args.start, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(date.fromordinal(args.to.toordinal() + 1), time(0), tzinfo=zone)
    engine = make_engine(settings.database_url)
    with transaction(engine) as session:
        figures = report.figures(
            session=session, settings=settings, start=start, end=end.astimezone(UTC)
        )
    print(json.dumps(figures.as_dict(), indent=2))
    return 0


def register(commands: Any) -> None:
    inquiries = commands.add_parser("inquiries", help="the inquiry queue's figures")
    inquiries.add_argument(
        "action", choices=["report"], help="report: the quarterly figures for a period"
    )
    inquiries.add_argument(
        "--from", dest="start", type=_day, required=True, help="first day (YYYY-MM-DD), included"
    )
    inquiries.add_argument("--to", type=_day, required=True, help="last day (YYYY-MM-DD), included")
    inquiries.set_defaults(func=cmd_inquiries)
