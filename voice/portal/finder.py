"""One search box: what a staff member typed, tried as every kind of key it could be.

Cases by case number, A-number and subject name (phonetic and fuzzy, voice.cases.search);
registrants by Victim ID, email and phone through the blind index, and by name. Registrants'
names are encrypted with no index to search, so a name query decrypts and scores the active
registrants' names in memory, with the same scoring as subjects' names; fine at the office's
scale of thousands.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.cases import search as case_search
from voice.cases.models import Case, Subject
from voice.victims import service as victim_service
from voice.victims.contact_input import ContactInvalid, looks_like_phone, phone_e164
from voice.victims.models import Victim

LIMIT = 50


@dataclass(frozen=True)
class CaseHit:
    case: Case
    subject: Subject
    why: str


@dataclass(frozen=True)
class RegistrantHit:
    victim: Victim
    why: str


@dataclass
class Results:
    cases: list[CaseHit] = field(default_factory=list)
    registrants: list[RegistrantHit] = field(default_factory=list)


def _cases_of(session: Session, subjects: dict[int, tuple[Subject, str]]) -> list[CaseHit]:
    if not subjects:
        return []
    rows = session.exec(
        select(Case).where(col(Case.subject_id).in_(list(subjects))).order_by(col(Case.id))
    ).all()
    return [CaseHit(c, subjects[c.subject_id][0], subjects[c.subject_id][1]) for c in rows]


def find_cases(*, session: Session, query: str) -> list[CaseHit]:
    hits: dict[int, CaseHit] = {}
    by_number = session.exec(
        select(Case, Subject)
        .join(Subject, col(Subject.id) == col(Case.subject_id))
        .where(sa.func.upper(col(Case.case_number)).contains(query.upper(), autoescape=True))
        .order_by(col(Case.id))
        .limit(LIMIT)
    ).all()
    for case, subject in by_number:
        hits.setdefault(case.id or 0, CaseHit(case, subject, "case number"))
    if any(ch.isdigit() for ch in query) and not any(ch.isalpha() for ch in query.lstrip("Aa")):
        subjects = case_search.by_a_number(session=session, a_number=query)
        for hit in _cases_of(session, {s.id or 0: (s, "A-number") for s in subjects}):
            hits.setdefault(hit.case.id or 0, hit)
    if case_search.tokens(query):
        matches = case_search.by_name(session=session, name=query, limit=LIMIT)
        named = {m.subject.id or 0: (m.subject, f"name, score {m.score:.2f}") for m in matches}
        for hit in _cases_of(session, named):
            hits.setdefault(hit.case.id or 0, hit)
    return list(hits.values())[:LIMIT]


def find_registrants(*, session: Session, query: str) -> list[RegistrantHit]:
    hits: dict[int, RegistrantHit] = {}

    def add(victims: list[Victim], why: str) -> None:
        for victim in victims:
            hits.setdefault(victim.id or 0, RegistrantHit(victim, why))

    coded = victim_service.find_by_code(session=session, victim_code=query)
    add([coded] if coded else [], "Victim ID")
    if "@" in query:
        add(victim_service.find_by_email(session=session, email=query.strip()), "email")
    if looks_like_phone(query):
        # Digits that are no valid phone number may still be an A-number: not an error here.
        with contextlib.suppress(ContactInvalid):
            add(victim_service.find_by_phone(session=session, phone=phone_e164(query)), "phone")
    wanted = case_search.tokens(query)
    if wanted and "@" not in query:
        scored = []
        for victim in session.exec(select(Victim).order_by(col(Victim.id))).all():
            names = case_search.tokens(f"{victim.first_name} {victim.last_name}")
            score = case_search.name_score(wanted, names)
            if score >= case_search.THRESHOLD:
                scored.append((score, victim))
        scored.sort(key=lambda pair: (-pair[0], pair[1].id or 0))
        for score, victim in scored:
            hits.setdefault(victim.id or 0, RegistrantHit(victim, f"name, score {score:.2f}"))
    return list(hits.values())[:LIMIT]
