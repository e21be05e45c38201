"""My cases and my notices: the disclosed view in plain words, and confirming a critical notice.

Every case read goes through the one door and is accounted for to the victim (channel "web"),
in the request's unit of work: the page is answered only after it commits.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from voice.deps import IdPath, SessionDep
from voice.disclosure.deps import PolicyDep
from voice.selfservice import plain, service, web_reads
from voice.selfservice.layout import page_language, render
from voice.selfservice.web_session import PostingVictim, WebVictim
from voice.web import i18n

router = APIRouter(prefix="/self-service", include_in_schema=False)


def N_(message: str) -> str:
    """Marks a message for the catalogues without translating it here."""
    return message


# The policy's neutral message (policies/disclosure.yaml), so the catalogues translate it; a
# test holds that the loaded policy's message is among them.
NEUTRAL_MESSAGES = (
    N_("Information about this case is not available right now; contact the VOICE office."),
)


@dataclass(frozen=True)
class CaseCard:
    case_id: int
    story: plain.Story | None
    # The policy's neutral message, in the page's language, when nothing may be shown.
    neutral: str | None
    verified: bool


@router.get("/cases", response_class=HTMLResponse)
def my_cases(
    request: Request, victim: WebVictim, session: SessionDep, policy: PolicyDep
) -> HTMLResponse:
    language = page_language(request, victim)
    t = i18n.translations(language)
    links = {link.case_id: link for link in web_reads.links_of(session=session, victim=victim)}
    cards = []
    for view in service.linked_cases(
        session=session, victim=victim, policy=policy, channel=web_reads.CHANNEL
    ):
        if view.message is not None:
            # Protected or held: the neutral message alone; not even the history is read.
            cards.append(CaseCard(view.case_id, None, t.gettext(view.message), view.verified))
            continue
        history = web_reads.case_history(
            session=session, victim=victim, link=links[view.case_id], policy=policy
        )
        told = plain.story(view.disclosed, history, language=language, zone=victim.time_zone)
        cards.append(CaseCard(view.case_id, told, None, view.verified))
    return render(request, "cases.html", {"cards": cards}, victim=victim, language=language)


def _status_text(status: str, t: gettext.NullTranslations) -> str:
    return {
        "delivered": t.gettext("Delivered"),
        "sent": t.gettext("Sent"),
        "sending": t.gettext("Being sent"),
        "temporary-failure": t.gettext("Not delivered yet; we will try again"),
    }.get(status, t.gettext("Sent"))


@router.get("/notices", response_class=HTMLResponse)
def my_notices(request: Request, victim: WebVictim, session: SessionDep) -> HTMLResponse:
    language = page_language(request, victim)
    t = i18n.translations(language)
    rows = []
    for notice in web_reads.sent_notices(session=session, victim=victim):
        rows.append(
            {
                "event_id": notice.event_id,
                "what": plain.event_sentence(notice.event_type, t) or t.gettext("An update."),
                "when": (
                    i18n.date_time(notice.sent_at, language, victim.time_zone)
                    if notice.sent_at
                    else ""
                ),
                "how": t.gettext("Email") if notice.channel == "email" else t.gettext("Text"),
                "status": _status_text(notice.status, t),
                "critical": notice.critical,
                "needs_confirmation": notice.needs_confirmation,
            }
        )
    context = {"rows": rows, "confirmed": "confirmed" in request.query_params}
    return render(request, "notices.html", context, victim=victim, language=language)


@router.post("/notices/{event_id}/confirm")
def confirm_notice(event_id: IdPath, victim: PostingVictim, session: SessionDep) -> Response:
    if not service.acknowledge_notice(session=session, victim=victim, event_id=event_id):
        # Already confirmed, or not theirs: the list shows what is still waiting either way.
        return RedirectResponse("/self-service/notices", status_code=303)
    return RedirectResponse("/self-service/notices?confirmed=1", status_code=303)
