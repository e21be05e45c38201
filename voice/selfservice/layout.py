"""The victims' pages on the shared layout: their language, navigation and rendering.

Every page is rendered in one language: the one asked for with ``?lang=`` (remembered in a
cookie), else the signed-in victim's own, else the browser's, else English; and only a language
whose catalogue is complete (voice/web/i18n.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request

from voice.auth.access import csrf_token
from voice.selfservice.web_session import signed_in_victim
from voice.victims.models import Victim
from voice.web import i18n
from voice.web.errors import Site, register_site
from voice.web.templating import make_localized_templates

TEMPLATES_DIR = Path(__file__).parent / "templates"
LANGUAGE_COOKIE = "voice_lang"
SITE_PREFIX = "/self-service"


@cache
def templates_for(language: str) -> Jinja2Templates:
    return make_localized_templates(language, TEMPLATES_DIR)


def page_language(request: Request, victim: Victim | None = None) -> str:
    return i18n.negotiate(
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        victim.preferred_language if victim is not None else None,
        accept_language=request.headers.get("accept-language", ""),
    )


def _nav(request: Request, language: str) -> list[tuple[str, str, bool]]:
    gettext = i18n.translations(language).gettext
    items = (
        (gettext("My cases"), f"{SITE_PREFIX}/cases"),
        (gettext("My notices"), f"{SITE_PREFIX}/notices"),
        (gettext("My preferences"), f"{SITE_PREFIX}/preferences"),
        (gettext("Ask a question"), f"{SITE_PREFIX}/questions"),
        (gettext("My questions"), f"{SITE_PREFIX}/my-questions"),
    )
    path = request.url.path
    return [(label, href, path == href or path.startswith(href + "/")) for label, href in items]


def _switch(request: Request, language: str) -> list[tuple[str, str, str, bool]]:
    """(code, name, href, current) for each offered language: a plain link, no script. The
    page's other query parameters stay, so an emailed link's page keeps its token."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]

    def href(code: str) -> str:
        return f"{request.url.path}?{urlencode([*kept, ('lang', code)])}"

    return [
        (code, i18n.language_name(code), href(code), code == language)
        for code in i18n.offered_languages()
    ]


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    victim: Victim | None = None,
    language: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    language = language or page_language(request, victim)
    gettext = i18n.translations(language).gettext
    full = {
        "site_name": gettext("VOICE victim services"),
        "home_url": f"{SITE_PREFIX}/cases" if victim is not None else f"{SITE_PREFIX}/sign-in",
        "nav_items": _nav(request, language) if victim is not None else [],
        "languages": _switch(request, language),
        "signed_in": victim is not None,
        "csrf_token": csrf_token(request),
        "office_contact": request.app.state.settings.office_contact,
        **context,
    }
    response = templates_for(language).TemplateResponse(
        request, name, full, status_code=status_code
    )
    # Cached nowhere: these pages carry a victim's own information.
    response.headers["Cache-Control"] = "no-store"
    chosen = request.query_params.get("lang")
    if chosen in i18n.offered_languages():
        response.set_cookie(LANGUAGE_COOKIE, chosen, samesite="lax", httponly=True)
    return response


def _error_wording(gettext: Any, office: str) -> dict[int, tuple[str, str]]:
    """What went wrong, in the victim's words and language: never the exception's detail."""
    return {
        400: (
            gettext("This form is out of date"),
            gettext("Go back, reload the page and try again."),
        ),
        401: (
            gettext("Please sign in"),
            gettext("You are not signed in, or you were signed out. Please sign in again."),
        ),
        403: (
            gettext("You cannot open this page"),
            gettext("This page is not one you can see. Your cases are under My cases."),
        ),
        404: (
            gettext("Page not found"),
            gettext("There is no page at this address. Check the address, or start again."),
        ),
        422: (
            gettext("We could not use what was sent"),
            gettext("Go back, check what you entered and try again."),
        ),
        429: (
            gettext("Please wait"),
            gettext("There were too many tries. Wait a few minutes, then try again."),
        ),
        500: (
            gettext("Something went wrong"),
            gettext(
                "The page could not be shown. Please try again in a few minutes. "
                "If it keeps happening, call the VOICE office: %(office)s."
            )
            % {"office": office},
        ),
        503: (
            gettext("This service is not available right now"),
            gettext("Please try again later."),
        ),
    }


def error_page(request: Request, status_code: int) -> Response:
    """An error page on the victims' layout, in the victim's language."""
    try:
        victim = signed_in_victim(request)
    except SQLAlchemyError:
        victim = None  # the database may be what failed: the page is still shown, signed out
    language = page_language(request, victim)
    gettext = i18n.translations(language).gettext
    wording = _error_wording(gettext, request.app.state.settings.office_contact)
    fallback = 500 if status_code >= 500 else 422
    heading, message = wording.get(status_code, wording[fallback])
    context = {"heading": heading, "message": message, "status_code": status_code}
    return render(
        request,
        "selfservice_error.html",
        context,
        victim=victim,
        language=language,
        status_code=status_code,
    )


register_site(
    SITE_PREFIX,
    Site(
        name="VOICE victim services",
        home_url=f"{SITE_PREFIX}/sign-in",
        templates=templates_for(i18n.SOURCE_LANGUAGE),
        layout="selfservice_layout.html",
        page=error_page,
    ),
)
