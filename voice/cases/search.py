"""Finding subjects by A-number (exact) and by name (phonetic and fuzzy).

Exact matching fails on spelling variants and transliterations (Mohammed / Muhammad,
Hernández / Hernandez, Tchaikovsky / Chaikovskiy). A query token matches a name token when
their Metaphone or NYSIIS codes agree, or when their Jaro-Winkler similarity is high; accents
are folded first. All of it runs offline (jellyfish), with no model or data download.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import jellyfish
from sqlmodel import Session, col, select

from voice.cases.models import Subject

THRESHOLD = 0.86
PHONETIC_SCORE = 0.92
_A_NUMBER = re.compile(r"[^0-9]")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z ]+", " ", plain.casefold()).strip()


def tokens(text: str) -> list[str]:
    return [t for t in fold(text).split() if t]


def normalise_a_number(raw: str) -> str:
    digits = _A_NUMBER.sub("", raw)
    return f"A{digits.zfill(9)}" if digits else ""


def token_score(query: str, candidate: str) -> float:
    similarity = jellyfish.jaro_winkler_similarity(query, candidate)
    if similarity < PHONETIC_SCORE and (
        jellyfish.metaphone(query) == jellyfish.metaphone(candidate)
        or jellyfish.nysiis(query) == jellyfish.nysiis(candidate)
    ):
        similarity = PHONETIC_SCORE
    return similarity


def name_score(query: list[str], names: list[str]) -> float:
    """How well every query token is matched by some token of the subject's names."""
    if not query or not names:
        return 0.0
    return sum(max(token_score(q, n) for n in names) for q in query) / len(query)


@dataclass(frozen=True)
class Match:
    subject: Subject
    score: float


def by_a_number(*, session: Session, a_number: str) -> list[Subject]:
    wanted = normalise_a_number(a_number)
    if not wanted:
        return []
    # Stored A-numbers may or may not carry the leading "A"; ask for both spellings.
    return list(
        session.exec(
            select(Subject)
            .where(col(Subject.a_number).in_([wanted, wanted[1:]]))
            .order_by(col(Subject.id))
        ).all()
    )


def by_name(*, session: Session, name: str, limit: int = 200) -> list[Match]:
    """Scores every subject's names and aliases; best first.

    A scan keeps this exact and simple at the office's scale (thousands of subjects); a
    precomputed phonetic-key table is the next step if that ever grows by orders of magnitude.
    """
    query = tokens(name)
    if not query:
        return []
    matches = []
    for subject in session.exec(select(Subject).order_by(col(Subject.id))).all():
        names = [subject.first_name or "", subject.middle_name or "", subject.last_name or ""]
        names += [a for a in subject.aliases if isinstance(a, str)]
        score = name_score(query, [t for n in names for t in tokens(n)])
        if score >= THRESHOLD:
            matches.append(Match(subject, round(score, 3)))
    matches.sort(key=lambda m: (-m.score, m.subject.id or 0))
    return matches[:limit]
