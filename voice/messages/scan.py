"""The outbound scan of messages that staff write to victims; offline, rules only.

It looks for what must not go to a victim by accident: SSNs, A-numbers, phone numbers, e-mail
addresses, dates of birth, street addresses and portion marks. A finding holds the message for
a supervisor (voice/messages/gate.py). Findings carry a kind and a position, never the
matched text, so they can be stored and logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from voice.disclosure.portions import text_marks

_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ]?)(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
_A_NUMBER = re.compile(r"(?<![A-Za-z0-9])A[- #]?(?:\d{7,9}|\d{3}[- ]\d{3}[- ]\d{3})(?!\d)", re.I)
_PHONE = re.compile(r"(?<![\d-])(?:\+?1[-. ]?)?(?:\(\d{3}\)\s?|\d{3}[-. ])\d{3}[-. ]\d{4}(?![\d-])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    "|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DATE = re.compile(
    r"(?<!\d)(?:(?P<iso>(?P<y1>\d{4})-\d{1,2}-\d{1,2})"
    r"|\d{1,2}[/.-]\d{1,2}[/.-](?P<y2>\d{4}|\d{2})"
    rf"|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?P<y3>\d{{4}})"
    rf"|\d{{1,2}}\s+(?:{_MONTHS})\.?,?\s+(?P<y4>\d{{4}}))(?!\d)",
    re.I,
)
_BIRTH_WORDS = re.compile(r"\b(?:dob|d\.o\.b\.?|born|birth(?:day|date)?|age)\b", re.I)
_STREET = re.compile(
    r"(?<![-/.:\w])\d{1,6}\s+(?:[A-Za-z0-9.'-]+\s+){1,4}"
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl"
    r"|terrace|ter|highway|hwy|parkway|pkwy|circle|cir|trail|trl)\b\.?"
    r"|\bp\.?\s?o\.?\s+box\s+\d+",
    re.I,
)
# A date this many years back or more is more likely someone's birth date than an appointment.
_BIRTH_YEARS_BACK = 10


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "start": self.start, "end": self.end}


def _year(match: re.Match[str]) -> int:
    text = next(match.group(g) for g in ("y1", "y2", "y3", "y4") if match.group(g))
    year = int(text)
    return year + (1900 if year >= 30 else 2000) if len(text) == 2 else year


def _birth_dates(text: str, now: datetime) -> list[Finding]:
    found = []
    for match in _DATE.finditer(text):
        before = text[max(0, match.start() - 30) : match.start()]
        if _BIRTH_WORDS.search(before) or _year(match) <= now.year - _BIRTH_YEARS_BACK:
            found.append(Finding("date_of_birth", match.start(), match.end()))
    return found


def scan(text: str, *, now: datetime | None = None) -> list[Finding]:
    """Every finding in ``text``, in order of position."""
    now = now or datetime.now(UTC)
    findings: list[Finding] = []
    for kind, pattern in (
        ("ssn", _SSN),
        ("a_number", _A_NUMBER),
        ("phone", _PHONE),
        ("email", _EMAIL),
        ("street_address", _STREET),
    ):
        findings += [Finding(kind, m.start(), m.end()) for m in pattern.finditer(text)]
    findings += _birth_dates(text, now)
    # Portion marks: positions are approximate (per line), which is all a reviewer needs.
    offset = 0
    for line in text.splitlines(keepends=True):
        if any(True for _ in text_marks(line)):
            findings.append(Finding("portion_mark", offset, offset + len(line.rstrip("\n"))))
        offset += len(line)
    # Digits inside an A-number also look like an SSN or a phone number: one finding is enough.
    # A portion mark spans its line, so what it contains is still reported on its own.
    findings.sort(key=lambda f: (f.start, -f.end))
    kept: list[Finding] = []
    for finding in findings:
        container = next((k for k in reversed(kept) if k.kind != "portion_mark"), None)
        if container is not None and finding.end <= container.end:
            continue
        kept.append(finding)
    return kept
