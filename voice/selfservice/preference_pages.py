"""My preferences and Ask a question: language, time zone, quiet hours, notices per case.

Changes are the victim's own and take effect for the next notice. A case's notices are stopped
by switching off both of its channels, and restarted by switching one on.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated

from babel.dates import format_time, get_timezone_location, get_timezone_name
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from voice.deps import IdPath, SessionDep, SettingsDep
from voice.selfservice import questions, web_reads
from voice.selfservice.layout import page_language, render
from voice.selfservice.web_session import ClockDep, PostingVictim, WebVictim
from voice.victims.models import VictimCaseLink
from voice.web import i18n

router = APIRouter(prefix="/self-service", include_in_schema=False)

PREFERENCES = "/self-service/preferences"
# The zones of the United States and its territories, as the office serves them.
TIME_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "Pacific/Guam",
)


def _zone_label(zone: str, language: str) -> str:
    # "Eastern Time (New York)": a name a person knows, not the database's identifier.
    name = get_timezone_name(zone, width="long", zone_variant="generic", locale=language)
    city = get_timezone_location(zone, locale=language, return_city=True)
    return f"{name} ({city})"


def _hour_label(hour: int, language: str) -> str:
    return format_time(time(hour), format="short", locale=language)


@router.get("/preferences", response_class=HTMLResponse)
def preferences(request: Request, victim: WebVictim, session: SessionDep) -> HTMLResponse:
    language = page_language(request, victim)
    context = {
        "victim": victim,
        "links": web_reads.links_of(session=session, victim=victim),
        "languages_offered": [(c, i18n.language_name(c)) for c in i18n.offered_languages()],
        "time_zones": [(z, _zone_label(z, language)) for z in TIME_ZONES],
        "hours": [(str(h), _hour_label(h, language)) for h in range(24)],
        "saved": "saved" in request.query_params,
    }
    return render(request, "preferences.html", context, victim=victim, language=language)


@router.post("/preferences")
def save_preferences(
    victim: PostingVictim,
    session: SessionDep,
    language: Annotated[str, Form(max_length=8)],
    time_zone: Annotated[str, Form(max_length=64)],
    quiet_start: Annotated[str, Form(max_length=2)] = "",
    quiet_end: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    if language in i18n.offered_languages():
        victim.preferred_language = language
    if time_zone in TIME_ZONES:
        victim.time_zone = time_zone
    start = int(quiet_start) if quiet_start.isdigit() and int(quiet_start) < 24 else None
    end = int(quiet_end) if quiet_end.isdigit() and int(quiet_end) < 24 else None
    # Both or neither: half a quiet period means none.
    both = start is not None and end is not None
    victim.quiet_start_hour, victim.quiet_end_hour = (start, end) if both else (None, None)
    session.add(victim)
    # Shown next in the language just chosen, whatever the switch said before.
    chosen = f"{PREFERENCES}?saved=1&lang={victim.preferred_language}"
    return RedirectResponse(chosen, status_code=303)


@router.post("/preferences/cases/{case_id}")
def save_case_channels(
    case_id: IdPath,
    victim: PostingVictim,
    session: SessionDep,
    email: Annotated[str, Form(max_length=3)] = "",
    sms: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    link = session.exec(
        select(VictimCaseLink).where(
            col(VictimCaseLink.victim_id) == victim.id, col(VictimCaseLink.case_id) == case_id
        )
    ).first()
    if link is not None:
        link.notify_email = email == "on"
        link.notify_sms = sms == "on"
        session.add(link)
    return RedirectResponse(f"{PREFERENCES}?saved=1", status_code=303)


@router.get("/questions", response_class=HTMLResponse)
def question_form(request: Request, victim: WebVictim, session: SessionDep) -> HTMLResponse:
    context = {"links": web_reads.links_of(session=session, victim=victim), "error": None}
    return render(request, "question.html", context, victim=victim)


@router.post("/questions", response_class=HTMLResponse)
def ask(
    request: Request,
    victim: PostingVictim,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    text: Annotated[str, Form(max_length=questions.MAX_LENGTH)] = "",
    case_id: Annotated[str, Form(max_length=12)] = "",
) -> HTMLResponse:
    language = page_language(request, victim)
    assert victim.id is not None
    links = web_reads.links_of(session=session, victim=victim)
    if not text.strip():
        t = i18n.translations(language)
        context = {"links": links, "error": t.gettext("Write your question.")}
        return render(request, "question.html", context, victim=victim, status_code=422)
    chosen = int(case_id) if case_id.isdigit() else None
    try:
        questions.submit_question(session=session, victim_id=victim.id, case_id=chosen, text=text)
    except questions.NotTheirCase:
        questions.submit_question(session=session, victim_id=victim.id, case_id=None, text=text)
    by = questions.answer_expected_by(
        clock().astimezone(i18n.zone(victim.time_zone)).date(), settings.question_answer_days
    )
    context = {"answer_by": i18n.long_date(by, language, victim.time_zone)}
    return render(request, "question_sent.html", context, victim=victim, language=language)
