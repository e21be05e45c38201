"""What a disclosed case says, in short plain sentences in the victim's language.

Only values the disclosure filter released reach here (``LinkedCaseView.disclosed`` and the
released events of the history); a withheld value is simply absent, and the sentence that
would have used it is either left out or said without it. No code, status name or timestamp
is ever shown as it is stored.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voice.selfservice.web_reads import as_datetime
from voice.web import i18n


@dataclass(frozen=True)
class Change:
    when: str
    what: str


@dataclass(frozen=True)
class Story:
    """A case as a victim reads it."""

    title: str
    status: str | None
    meaning: list[str]
    next_steps: list[str]
    history: list[Change]


def event_sentence(event_type: str, t: _gettext.NullTranslations) -> str | None:
    sentences = {
        "custody.booked": t.gettext("Taken into ICE custody."),
        "custody.transferred": t.gettext("Moved to another ICE facility."),
        "custody.released": t.gettext("Released from ICE custody."),
        "custody.escaped": t.gettext("Escaped from ICE custody."),
        "custody.returned": t.gettext("Returned to ICE custody."),
        "custody.deceased": t.gettext("Died while in ICE custody."),
        "custody.detainer_lodged": t.gettext("ICE asked another agency to hold the person."),
        "case.proceedings_initiated": t.gettext("An immigration court case started."),
        "case.hearing_scheduled": t.gettext("A court hearing was scheduled."),
        "case.removal_ordered": t.gettext("A judge ordered the person removed from the U.S."),
        "case.relief_granted": t.gettext("A judge allowed the person to stay in the U.S."),
        "case.appeal_filed": t.gettext("The judge's decision was appealed."),
        "case.closed": t.gettext("The immigration court case was closed."),
        "removal.completed": t.gettext("Removed from the United States."),
        "correction": t.gettext("An earlier update was corrected."),
    }
    return sentences.get(event_type)


def _custody(
    case: Mapping[str, Any], since: str | None, t: _gettext.NullTranslations
) -> tuple[str | None, list[str], list[str]]:
    """The custody sentence, what it means and what usually happens next."""
    status = case.get("custody_status")
    facility = case.get("facility_name")
    if status == "in_custody":
        if facility and since:
            line = t.gettext("In ICE custody at %(facility)s since %(date)s.") % {
                "facility": facility,
                "date": since,
            }
        elif facility:
            line = t.gettext("In ICE custody at %(facility)s.") % {"facility": facility}
        elif since:
            line = t.gettext("In ICE custody since %(date)s.") % {"date": since}
        else:
            line = t.gettext("In ICE custody.")
        return (
            line,
            [t.gettext("ICE is holding the person in a detention facility.")],
            [
                t.gettext("The person usually stays in custody while the court case goes on."),
                t.gettext("We will tell you if the person is moved, released or removed."),
            ],
        )
    simple = {
        "released": (
            t.gettext("Released from ICE custody."),
            t.gettext("ICE let the person go. They may have to check in with ICE."),
            t.gettext("The court case usually goes on. If you feel unsafe, call 911."),
        ),
        "escaped": (
            t.gettext("Escaped from ICE custody."),
            t.gettext("The person left custody without permission. ICE is looking for them."),
            t.gettext("If you feel unsafe, call 911. We will tell you when they are found."),
        ),
        "removed": (
            t.gettext("Removed from the United States."),
            t.gettext("ICE sent the person out of the United States."),
            t.gettext("Usually nothing more happens. We will tell you if they come back."),
        ),
        "deceased": (
            t.gettext("Died while in custody."),
            t.gettext("The person has died."),
            t.gettext("The case will be closed."),
        ),
        "not_in_custody": (
            t.gettext("Not in ICE custody."),
            t.gettext("ICE is not holding the person."),
            t.gettext("We will tell you if ICE takes the person into custody."),
        ),
    }
    if status in simple:
        line, meaning, after = simple[status]
        return line, [meaning], [after]
    return None, [], []


def _proceedings(
    case: Mapping[str, Any], language: str, zone: str | None, t: _gettext.NullTranslations
) -> tuple[list[str], list[str]]:
    stage = case.get("proceedings_stage")
    hearing = as_datetime(case.get("hearing_at"))
    if stage == "hearing_scheduled" and hearing is not None:
        meaning = t.gettext("A hearing with an immigration judge is set for %(when)s.") % {
            "when": i18n.date_time(hearing, language, zone)
        }
        after = t.gettext("At the hearing, the judge may decide the case or set another date.")
        return [meaning], [after]
    stages = {
        "initiated": (
            t.gettext("An immigration court case has started."),
            t.gettext("The court will set a hearing date."),
        ),
        "hearing_scheduled": (
            t.gettext("A hearing with an immigration judge is scheduled."),
            t.gettext("At the hearing, the judge may decide the case or set another date."),
        ),
        "removal_ordered": (
            t.gettext("A judge ordered the person removed from the United States."),
            t.gettext("The person may appeal. For safety, we never share removal dates early."),
        ),
        "relief_granted": (
            t.gettext("A judge allowed the person to stay in the United States."),
            t.gettext("The government may appeal this decision."),
        ),
        "on_appeal": (
            t.gettext("The judge's decision has been appealed."),
            t.gettext("A higher board will review the case. This often takes months."),
        ),
        "closed": (
            t.gettext("The immigration court case is closed."),
            t.gettext("Usually nothing more happens in court."),
        ),
    }
    if stage in stages:
        meaning, after = stages[stage]
        return [meaning], [after]
    return [], []


def story(
    disclosed: Mapping[str, Mapping[str, Any]],
    history: list[tuple[str, datetime]],
    *,
    language: str,
    zone: str | None,
) -> Story:
    """``history`` holds (event type, when) of the released events, oldest first."""
    t = i18n.translations(language)
    subject = disclosed.get("subject", {})
    case = disclosed.get("case", {})
    name = " ".join(str(subject[k]) for k in ("first_name", "last_name") if subject.get(k))
    title = (
        t.gettext("Case of %(name)s") % {"name": name} if name else t.gettext("A case you follow")
    )
    custody_events = [when for kind, when in history if kind.startswith("custody.")]
    since = i18n.long_date(custody_events[-1], language, zone) if custody_events else None
    status, meaning, next_steps = _custody(case, since, t)
    more_meaning, more_next = _proceedings(case, language, zone, t)
    changes = [
        Change(when=i18n.long_date(when, language, zone), what=sentence)
        for kind, when in reversed(history)
        if (sentence := event_sentence(kind, t)) is not None
    ]
    return Story(
        title=title,
        status=status,
        meaning=meaning + more_meaning,
        next_steps=next_steps + more_next,
        history=changes,
    )
