"""Invented demo data: subjects, cases with histories, victims and links.

Every name, number and place here is made up. The data is generated from a fixed seed, so a
reload yields the same events, and ingest's idempotency makes loading twice harmless.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from voice.cases.models import Case, Subject
from voice.disclosure.policy import Policy
from voice.ingest import service as ingest_service
from voice.notify import guard
from voice.victims import service as victim_service
from voice.victims.models import Language, Relationship, Victim

SOURCE = "demo-enforce"
SUBJECTS = 36
# Published demo credentials (Victim ID V-0000-00NN, PIN 202600NN): invented data only.
DEMO_CODE_PREFIX = "V-0000-"
DEMO_PIN_PREFIX = "2026"

FIRST_NAMES = [
    "Ramon",
    "Luis",
    "Andrei",
    "Tomas",
    "Kwame",
    "Dmitri",
    "Hector",
    "Samir",
    "Jorge",
    "Viktor",
    "Marco",
    "Emilio",
    "Oskar",
    "Pavel",
    "Rafael",
    "Bogdan",
    "Nestor",
    "Ivo",
]
LAST_NAMES = [
    "Examplo",
    "Samplez",
    "Fictivo",
    "Placeholt",
    "Demarco",
    "Invento",
    "Testa",
    "Mockridge",
    "Fauxley",
    "Nominal",
    "Madeup",
    "Specimen",
]
COUNTRIES = ["Exampleland", "Samplestan", "Republic of Demo", "Fictonia", "Mockovia"]
FACILITIES = [
    ("Sampletown Processing Center", "Sampletown", "TX"),
    ("Example County Detention Facility", "Exampleville", "AZ"),
    ("Demo Valley Service Processing Center", "Demo Valley", "CA"),
    ("Fictional Bay Contract Facility", "Fictional Bay", "FL"),
]
COURTS = ["Sampletown Immigration Court", "Exampleville Immigration Court"]
VICTIM_FIRST = [
    "Maria",
    "Linda",
    "James",
    "Ana",
    "Robert",
    "Sofia",
    "Karen",
    "David",
    "Lucia",
    "Michael",
    "Elena",
    "Patricia",
]
VICTIM_LAST = ["Doe", "Roe", "Public", "Citizen", "Sample", "Example"]


@dataclass(frozen=True)
class DemoSummary:
    subjects: int
    victims: int
    events_accepted: int
    # (Victim ID, PIN) of the demo victims, for self-service sign-in
    credentials: list[tuple[str, str]]


def _invented_birth_date(rng: random.Random) -> str:
    return f"{rng.randint(1960, 2002)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _at(base: datetime, days: int, hour: int = 9) -> str:
    return (base + timedelta(days=days, hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _history(
    rng: random.Random, n: int, start: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The subject's booking, then the rest of their history (sent after victims are linked)."""
    subject_id = f"S-{n:06d}"
    case_number = f"CASE-2026-{n:06d}"
    facility, city, state = rng.choice(FACILITIES)
    subject: dict[str, Any] = {
        "subject_id": subject_id,
        "first_name": rng.choice(FIRST_NAMES),
        "last_name": rng.choice(LAST_NAMES),
        "a_number": f"A{200000000 + n * 37:09d}",
        "date_of_birth": _invented_birth_date(rng),
        "country_of_birth": rng.choice(COUNTRIES),
    }
    if n % 12 == 5:
        subject["flags"] = {"protected_1367": True}
    if n % 17 == 3:
        subject["flags"] = {"minor": True}

    def event(kind: str, day: int, case: dict[str, Any], **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "source": SOURCE,
            "source_event_id": f"{subject_id}-{kind}-{day}",
            "occurred_at": _at(start, day),
            "event_type": kind,
            "subject": {"subject_id": subject_id},
            "case": {"case_number": case_number, **case},
        }
        body.update(extra)
        return body

    booked = event(
        "custody.booked",
        0,
        {
            "custody_status": "in_custody",
            "facility_name": facility,
            "facility_city": city,
            "facility_state": state,
            "proceedings_stage": "initiated",
            "officer_name": "Officer Demo Sample",
        },
        notes="Booked after transfer from county custody.",
        markings={"/notes": "(U//LES)", "/case/officer_name": "(U//FOUO)"},
    )
    booked["subject"] = subject
    later: list[dict[str, Any]] = [
        event(
            "case.hearing_scheduled",
            10,
            {
                "hearing_at": _at(start, 40, 14),
                "hearing_court": rng.choice(COURTS),
            },
        ),
    ]
    outcome = rng.random()
    if outcome < 0.35:
        later.append(
            event(
                "custody.released",
                25,
                {
                    "custody_status": "released",
                    "release_type": rng.choice(
                        ["bond", "order_of_supervision", "order_of_recognizance", "parole"]
                    ),
                    "release_address": f"{rng.randint(10, 999)} Example Street, {city}, {state}",
                },
                markings={"/case/release_address": "CUI//SP-PRVCY"},
            )
        )
    elif outcome < 0.65:
        later.append(event("case.removal_ordered", 30, {}))
        later.append(
            event(
                "removal.scheduled",
                33,
                {
                    "scheduled_removal_at": _at(start, 45),
                    "removal_port": "Example Port of Entry",
                    "transport_details": "Charter flight, seat block C",
                },
                markings={"/case/transport_details": "(U//LES)"},
            )
        )
        if start + timedelta(days=46) < datetime.now(UTC):
            later.append(
                event(
                    "removal.completed",
                    46,
                    {
                        "custody_status": "removed",
                        "removed_to_country": subject["country_of_birth"],
                    },
                )
            )
    else:
        later.append(
            event(
                "custody.transferred",
                20,
                {
                    "custody_status": "in_custody",
                    "facility_name": FACILITIES[0][0],
                    "facility_city": FACILITIES[0][1],
                    "facility_state": FACILITIES[0][2],
                    "transport_details": "Ground transport, morning",
                },
                markings={"/case/transport_details": "LES"},
            )
        )
    return [booked], later


def load_demo(*, session: Session, policy: Policy) -> DemoSummary:
    rng = random.Random(2026)  # noqa: S311  (invented demo data, not security)
    start = datetime(2026, 8, 1, tzinfo=UTC)
    bookings: list[dict[str, Any]] = []
    histories: list[dict[str, Any]] = []
    for n in range(1, SUBJECTS + 1):
        first, rest = _history(rng, n, start + timedelta(days=n))
        bookings += first
        histories += rest

    # Months of invented history arrive at once; they are no feed error for the guard to hold.
    with guard.suspended():
        accepted = _ingest(session, bookings, policy)
        credentials = _victims(session, rng)
        accepted += _ingest(session, histories, policy)
    victims = len(session.exec(select(Victim.id)).all())
    return DemoSummary(
        subjects=SUBJECTS, victims=victims, events_accepted=accepted, credentials=credentials
    )


def _ingest(session: Session, events: list[dict[str, Any]], policy: Policy) -> int:
    results = ingest_service.ingest_batch(session=session, candidates=events, policy=policy)
    return sum(1 for r in results if r.receipt is not None and r.receipt.status == "accepted")


def _victims(session: Session, rng: random.Random) -> list[tuple[str, str]]:
    """Register about two dozen victims against the demo cases; return their demo sign-ins."""
    credentials: list[tuple[str, str]] = []
    cases = session.exec(
        select(Case).join(Subject).where(Subject.source == SOURCE).order_by(Case.id)  # type: ignore[arg-type]
    ).all()
    for index, case in enumerate(cases[:24]):
        code = f"{DEMO_CODE_PREFIX}{index + 1:04d}"
        pin = f"{DEMO_PIN_PREFIX}{index + 1:04d}"
        if victim_service.find_by_code(session=session, victim_code=code) is not None:
            credentials.append((code, pin))
            continue
        first, last = rng.choice(VICTIM_FIRST), rng.choice(VICTIM_LAST)
        victim, _ = victim_service.register_victim(
            session=session,
            first_name=first,
            last_name=last,
            language=Language.SPANISH if index % 4 == 1 else Language.ENGLISH,
            email=f"{first.lower()}.{last.lower()}{index + 1}@example.invalid",
            email_verified=True,
            phone=f"+1555010{index + 1:04d}",
            phone_verified=index % 2 == 0,
            pin=pin,
            victim_code=code,
        )
        victim_service.link_victim(
            session=session,
            victim=victim,
            case=case,
            verified=index % 6 != 5,
            relationship=Relationship.VICTIM if index % 3 else Relationship.FAMILY_MEMBER,
            notify_email=True,
            notify_sms=index % 2 == 0,
        )
        # A few victims follow a second case, to show several linked cases at once.
        if index % 8 == 0 and index + 1 < len(cases):
            victim_service.link_victim(
                session=session,
                victim=victim,
                case=cases[index + 1],
                verified=True,
                notify_email=True,
            )
        credentials.append((code, pin))
    return credentials
