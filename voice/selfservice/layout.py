"""The victims' pages on the shared layout: their language, navigation and rendering.

Every page is rendered in one language: the one asked for with ``?lang=`` (remembered in a
cookie), else the signed-in victim's own, else the browser's, else English; and only a language
whose catalogue is complete (voice/web/i18n.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.requests import Request

from voice.auth.access import csrf_token
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
    )
    path = request.url.path
    return [(label, href, path == href or path.startswith(href + "/")) for label, href in items]


def _switch(request: Request, language: str) -> list[tuple[str, str, str, bool]]:
    """(code, name, href, current) for each offered language: a plain link, no script."""
    return [
        (code, i18n.language_name(code), f"{request.url.path}?lang={code}", code == language)
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


def _error_context(request: Request) -> dict[str, Any]:
    language = page_language(request)
    return {"lang": language, "languages": _switch(request, language), "nav_items": []}


register_site(
    SITE_PREFIX,
    Site(
        name="VOICE victim services",
        home_url=f"{SITE_PREFIX}/sign-in",
        templates=templates_for(i18n.SOURCE_LANGUAGE),
        layout="selfservice_layout.html",
        context=_error_context,
    ),
)
