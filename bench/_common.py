"""Shared pieces of the bench scripts: throwaway databases, seed data, events, the result line.

Imported as a plain module: ``python bench/<script>.py`` puts ``bench/`` first on ``sys.path``.
Nothing here imports from ``tests/``; events are built inline so the benches keep working when
the test helpers change.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice import migrate
from voice.cases.models import Case
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event
from voice.victims import service as victim_service
from voice.victims.models import Language

# The local server's ``test`` database is only used to CREATE and DROP a throwaway database.
POSTGRES_ADMIN_URL = os.environ.get(
    "VOICE_BENCH_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test"
)
DATABASES = ("sqlite", "postgresql")
RESULT_KEYS = ("name", "value", "unit", "baseline", "ratio", "target")

SOURCE = "enforce"
_BASE_TIME = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def parse_args(
    description: str,
    *,
    count_flag: str,
    default: int,
    quick: int,
    subjects: int,
    rounds: int,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    if extra is not None:
        extra(parser)
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    parser.add_argument(
        f"--{count_flag}", type=int, default=None, help=f"{count_flag} to measure ({default})"
    )
    parser.add_argument(
        "--subjects", type=int, default=None, help=f"subjects (cases) to spread over ({subjects})"
    )
    parser.add_argument(
        "--rounds", type=int, default=rounds, help=f"rounds the work is split into ({rounds})"
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"tiny smoke run ({quick}, 5 subjects, 2 rounds)"
    )
    args = parser.parse_args()
    count_attr = count_flag.replace("-", "_")
    if getattr(args, count_attr) is None:
        setattr(args, count_attr, quick if args.quick else default)
    if args.subjects is None:
        args.subjects = 5 if args.quick else subjects
    if args.quick:
        args.rounds = min(args.rounds, 2)
    if getattr(args, count_attr) < 1 or args.subjects < 1 or args.rounds < 1:
        parser.error(f"--{count_flag}, --subjects and --rounds must be positive")
    return args


def quiet_logs() -> None:
    # The service logs one INFO line per event and per send; keep stdout/stderr for the figures.
    logging.getLogger("voice").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


@contextmanager
def throwaway_database(kind: str, workdir: Path) -> Iterator[str]:
    """A migrated, empty database of the given kind; a PostgreSQL one is dropped afterwards."""
    name = f"voice_bench_{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        url = f"sqlite:///{workdir / (name + '.db')}"
        migrate.upgrade(url)
        yield url
        return
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            target = sa.make_url(POSTGRES_ADMIN_URL).set(database=name)
            rendered = target.render_as_string(hide_password=False)
            migrate.upgrade(rendered)
            yield rendered
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="voice-bench-") as tmp:
        yield Path(tmp)


def database_label(engine: Engine) -> str:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            version = connection.exec_driver_sql("select sqlite_version()").scalar_one()
            return f"sqlite {version} (WAL, synchronous=NORMAL)"
        version = connection.exec_driver_sql("show server_version").scalar_one()
        fsync = connection.exec_driver_sql("show synchronous_commit").scalar_one()
        return f"postgresql {version} (synchronous_commit={fsync})"


# --- events -----------------------------------------------------------------------------------


def subject_id(index: int) -> str:
    return f"S-B{index:05d}"


def case_number(index: int) -> str:
    return f"CASE-BENCH-{index:05d}"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def booking(subject: int) -> dict[str, Any]:
    """The first event of a subject: a full, mostly unmarked subject and facility."""
    return {
        "source": SOURCE,
        "source_event_id": f"bench-seed-{subject:05d}",
        "occurred_at": _stamp(_BASE_TIME),
        "event_type": "custody.booked",
        "subject": {
            "subject_id": subject_id(subject),
            "first_name": "Ramon",
            "last_name": f"Example{subject}",
            "a_number": f"A{200100000 + subject:09d}",
            "date_of_birth": "1988-04-12",
            "country_of_birth": "Exampleland",
        },
        "case": {
            "case_number": case_number(subject),
            "custody_status": "in_custody",
            "facility_name": "Example Processing Center",
            "facility_city": "Sampletown",
            "facility_state": "TX",
            "proceedings_stage": "initiated",
            "officer_name": "Officer J. Sample",
        },
        "notes": "Booked after transfer from county jail.",
        "markings": {"/notes": "(U//LES)", "/case/officer_name": "(U//FOUO)"},
    }


def _follow_up(kind: int, when: datetime) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(event_type, case fields, extra top-level fields) for the k-th kind of follow-up."""
    later = _stamp(when + timedelta(days=30))
    match kind:
        case 0:
            return (
                "case.hearing_scheduled",
                {"hearing_at": later, "hearing_court": "Sampletown Immigration Court"},
                {},
            )
        case 1:
            return (
                "custody.transferred",
                {
                    "facility_name": "Second Example Center",
                    "facility_city": "Othertown",
                    "facility_state": "NM",
                    "transport_details": "Bus 12, departs 06:00",
                },
                {
                    "notes": "Moved for bed space.",
                    "markings": {"/case/transport_details": "CUI//SP-LEI", "/notes": "(U//LES)"},
                },
            )
        case 2:
            return ("case.removal_ordered", {"immigration_status": "removable"}, {})
        case 3:
            return ("case.appeal_filed", {}, {"notes": "Appeal lodged with the BIA."})
        case 4:
            return (
                "custody.released",
                {
                    "custody_status": "released",
                    "release_type": "order_of_supervision",
                    "release_address": "12 Example Street, Sampletown, TX 75001",
                },
                {"markings": {"/case/release_address": "CUI//SP-PRVCY"}},
            )
        case _:
            return (
                "custody.returned",
                {"facility_name": "Example Processing Center", "facility_city": "Sampletown"},
                {},
            )


FOLLOW_UP_KINDS = 6


def follow_up(sequence: int, subjects: int, *, prefix: str = "bench") -> dict[str, Any]:
    """The ``sequence``-th follow-up event, round-robin over ``subjects`` subjects.

    Each subject's events occur an hour apart, in order, so every fold replays a growing but
    ordinary history (no corrections: a correction notifies only those already told).
    """
    subject = sequence % subjects
    step = sequence // subjects + 1
    when = _BASE_TIME + timedelta(hours=step)
    event_type, case_fields, extra = _follow_up(step % FOLLOW_UP_KINDS, when)
    return {
        "source": SOURCE,
        "source_event_id": f"{prefix}-{sequence:08d}",
        "occurred_at": _stamp(when),
        "event_type": event_type,
        "subject": {"subject_id": subject_id(subject)},
        "case": {"case_number": case_number(subject), **case_fields},
        **extra,
    }


def seed_cases(*, engine: Engine, policy: Policy, subjects: int) -> int:
    """Book every subject, then give each case two verified links: one email, one SMS.

    Returns the number of links. Seeding is never timed.
    """
    links = 0
    with Session(engine, expire_on_commit=False) as session:
        for index in range(subjects):
            receipt = ingest_event(session=session, candidate=booking(index), policy=policy)
            case = session.get_one(Case, receipt.case_id)
            by_email, _ = victim_service.register_victim(
                session=session,
                first_name="Vera",
                last_name=f"Victim{index}",
                email=f"victim-{index}@example.invalid",
                email_verified=True,
            )
            by_sms, _ = victim_service.register_victim(
                session=session,
                first_name="Samuel",
                last_name=f"Family{index}",
                # half of the SMS recipients read Spanish, so both template sets are exercised
                language=Language.SPANISH if index % 2 else Language.ENGLISH,
                phone=f"+1555020{index:04d}",
                phone_verified=True,
            )
            victim_service.link_victim(
                session=session, victim=by_email, case=case, verified=True, notify_email=True
            )
            victim_service.link_victim(
                session=session,
                victim=by_sms,
                case=case,
                verified=True,
                notify_email=False,
                notify_sms=True,
            )
            links += 2
        session.commit()
    return links


# --- figures ----------------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0.0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def split(total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` near-equal positive chunks (fewer parts if total is small)."""
    parts = max(1, min(parts, total))
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def spread(pairs: list[tuple[float, float]]) -> str:
    """min / median / max of per-round ratios, from (measured seconds, baseline seconds) pairs
    over equal counts; a wide spread means a noisy run."""
    ratios = sorted(base / measured for measured, base in pairs if measured > 0)
    if not ratios:
        return "n/a"
    middle = percentile(ratios, 0.5)
    return f"{ratios[0]:.4f} / {middle:.4f} / {ratios[-1]:.4f} over {len(ratios)} rounds"


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    baseline: float
    target: float

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline > 0 else 0.0

    def line(self) -> str:
        body = {
            "name": self.name,
            "value": round(self.value, 2),
            "unit": self.unit,
            "baseline": round(self.baseline, 2),
            "ratio": round(self.ratio, 4),
            "target": self.target,
        }
        assert tuple(body) == RESULT_KEYS
        return json.dumps(body)


def report(figures: list[tuple[str, str]], result: Result) -> None:
    """Print the absolute figures, then the one-line JSON result, last."""
    width = max(len(label) for label, _ in figures)
    for label, value in figures:
        print(f"{label:<{width}}  {value}")
    verdict = "meets" if result.ratio >= result.target else "BELOW"
    print(f"{'ratio':<{width}}  {result.ratio:.4f} ({verdict} target {result.target})")
    print(result.line(), flush=True)
