"""My preferences: language, time zone, quiet hours, and notices per case.

Changes are the victim's own and take effect for the next notice. A case's notices are stopped
by switching off both of its channels, and restarted by switching one on. Contact points are
changed and proven in contact_pages.py.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated

from babel.dates import format_time, get_timezone_location, get_timezone_name
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from voice.deps import IdPath, SessionDep
from voice.disclosure.policy import Policy
from voice.selfservice import plain, service, web_reads
from voice.selfservice.layout import page_language, render
from voice.selfservice.web_session import PostingVictim, WebVictim
from voice.victims.models import Victim, VictimCaseLink
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


def preferences_page(
    request: Request,
    *,
    session: Session,
    victim: Victim,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    language = page_language(request, victim)
    flags = ("saved", "link_sent", "phone_confirmed")
    context = {
        "victim": victim,
        "links": web_reads.links_of(session=session, victim=victim),
        "case_titles": _case_titles(request, session=session, victim=victim, language=language),
        "languages_offered": [(c, i18n.language_name(c)) for c in i18n.offered_languages()],
        "time_zones": [(z, _zone_label(z, language)) for z in TIME_ZONES],
        "hours": [(str(h), _hour_label(h, language)) for h in range(24)],
        "errors": errors or {},
        **{flag: flag in request.query_params for flag in flags},
    }
    return render(
        request,
        "preferences.html",
        context,
        victim=victim,
        language=language,
        status_code=status_code,
    )


def _case_titles(
    request: Request, *, session: Session, victim: Victim, language: str
) -> dict[int, str]:
    """Each case's title as My cases shows it ("The case of …"), so the victim can tell them
    apart. It is read through the one door and accounted for like any other read; a case
    that may not be shown keeps its number alone."""
    policy: Policy = request.app.state.policy
    titles = {}
    for view in service.linked_cases(
        session=session, victim=victim, policy=policy, channel=web_reads.CHANNEL
    ):
        if view.message is None:
            told = plain.story(view.disclosed, [], language=language, zone=victim.time_zone)
            titles[view.case_id] = told.title
    return titles


@router.get("/preferences", response_class=HTMLResponse)
def preferences(request: Request, victim: WebVictim, session: SessionDep) -> HTMLResponse:
    return preferences_page(request, session=session, victim=victim)


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
