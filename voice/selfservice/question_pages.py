"""Ask a question, and My questions: a victim's questions go to the office's inquiry queue.

The form opens an inquiry through the same intake as the API, SMS and email
(voice/inquiries/intake.py); the queue's service levels, on its business-hours calendar, say
when the first answer is due, and the confirmation page tells the victim that time. My
questions shows what the victim asked and the answers already sent to them, never staff's
notes or anything about how the office handles the question (voice/inquiries/mine.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from voice.deps import SessionDep, SettingsDep
from voice.inquiries import intake, mine
from voice.inquiries import service as inquiry_service
from voice.inquiries.models import Category
from voice.selfservice import web_reads
from voice.selfservice.layout import page_language, render
from voice.selfservice.web_session import ClockDep, PostingVictim, WebVictim
from voice.victims.models import Victim, VictimCaseLink
from voice.web import i18n

router = APIRouter(prefix="/self-service", include_in_schema=False)

MAX_LENGTH = 2000


def category_labels(gettext: Callable[[str], str]) -> dict[str, str]:
    """What each category is called on the victims' pages: their words, not the queue's."""
    return {
        Category.CASE_STATUS: gettext("The case and where it stands"),
        Category.CUSTODY_OR_RELEASE: gettext("Custody or release"),
        Category.REMOVAL: gettext("Removal from the United States"),
        Category.HEARING: gettext("A court hearing"),
        Category.VICTIM_SERVICES: gettext("Help and support for victims"),
        Category.SAFETY_CONCERN: gettext("My safety"),
        Category.REGISTRATION_HELP: gettext("Signing in or my registration"),
        Category.UNRELATED: gettext("Something else"),
    }


def _form_page(
    request: Request,
    victim: Victim,
    links: list[VictimCaseLink],
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    t = i18n.translations(page_language(request, victim))
    categories = [("", t.gettext("I am not sure")), *list(category_labels(t.gettext).items())]
    context = {"links": links, "categories": categories, "error": error}
    return render(request, "question.html", context, victim=victim, status_code=status_code)


@router.get("/questions", response_class=HTMLResponse)
def question_form(request: Request, victim: WebVictim, session: SessionDep) -> HTMLResponse:
    return _form_page(request, victim, web_reads.links_of(session=session, victim=victim))


@router.post("/questions", response_class=HTMLResponse)
def ask(
    request: Request,
    victim: PostingVictim,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    text: Annotated[str, Form(max_length=MAX_LENGTH)] = "",
    case_id: Annotated[str, Form(max_length=12)] = "",
    category: Annotated[str, Form(max_length=32)] = "",
) -> HTMLResponse:
    language = page_language(request, victim)
    assert victim.id is not None
    if not text.strip():
        t = i18n.translations(language)
        links = web_reads.links_of(session=session, victim=victim)
        return _form_page(
            request, victim, links, error=t.gettext("Write your question."), status_code=422
        )
    chosen = int(case_id) if case_id.isdigit() else None
    kind = category if category in set(Category) else None
    try:
        inquiry = intake.submit_from_victim(
            session=session,
            settings=settings,
            victim_id=victim.id,
            body=text,
            category=kind,
            case_id=chosen,
            now=clock(),
        )
    except inquiry_service.InquiryError:
        # A case not (or not yet) verified for this victim: the question still reaches staff.
        inquiry = intake.submit_from_victim(
            session=session,
            settings=settings,
            victim_id=victim.id,
            body=text,
            category=kind,
            now=clock(),
        )
    context = {
        "answer_by": i18n.date_time(inquiry.first_response_due, language, victim.time_zone),
        "safety": inquiry.category == Category.SAFETY_CONCERN,
    }
    return render(request, "question_sent.html", context, victim=victim, language=language)


@router.get("/my-questions", response_class=HTMLResponse)
def my_questions(request: Request, victim: WebVictim, session: SessionDep) -> HTMLResponse:
    language = page_language(request, victim)
    assert victim.id is not None
    labels = category_labels(i18n.translations(language).gettext)
    threads = [
        {
            "about": labels.get(thread.category, ""),
            "asked": i18n.date_time(thread.received_at, language, victim.time_zone),
            "answered": thread.answered,
            "closed": thread.closed,
            "items": [
                {
                    "from_office": item.who == "office",
                    "body": item.body,
                    "at": i18n.date_time(item.at, language, victim.time_zone),
                }
                for item in thread.items
            ],
        }
        for thread in mine.threads(session=session, victim_id=victim.id)
    ]
    context = {"threads": threads}
    return render(request, "my_questions.html", context, victim=victim, language=language)
