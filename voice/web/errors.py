"""Error pages for people: a forbidden, missing or failed page is HTML in the site's layout.

The API keeps its RFC 9457 problem details (voice/errors.py). These handlers wrap those: a
request for a page under one of the web sites' prefixes gets an HTML page with the same status
and headers; every other request is passed to the problem handler unchanged. Redirects raised as
exceptions (the access check sends anonymous staff to sign in with a 303) pass through too.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from voice.web.templating import make_templates

log = logging.getLogger(__name__)


def _no_context(_: Request) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Site:
    """A web site's error pages: its name, home, and the layout its pages share.

    ``context`` adds what that layout needs (the portal's signed-in staff member, so a refused
    page still shows the navigation and the sign-out button). ``page``, when given, renders the
    whole error page instead: the victims' pages speak the victim's language.
    """

    name: str
    home_url: str
    templates: Jinja2Templates | None = None
    layout: str = "base.html"
    context: Callable[[Request], dict[str, Any]] = _no_context
    page: Callable[[Request, int], Response] | None = None


# The web sites by path prefix. The API under /api/ never matches: it answers in JSON.
SITES: dict[str, Site] = {
    "/portal": Site(name="VOICE staff portal", home_url="/portal"),
    "/self-service": Site(name="VOICE self-service", home_url="/self-service/sign-in-link"),
}


def register_site(prefix: str, site: Site) -> None:
    """A site's own package describes its error pages; this layer knows no site's internals."""
    SITES[prefix] = site


# Plain words for the person in front of the page: never the exception's detail, which is
# written for developers and can quote what the request carried.
MESSAGES: dict[int, tuple[str, str]] = {
    400: ("This form is out of date", "Go back, reload the page and try again."),
    401: ("Please sign in", "Your session has ended or you are not signed in. Sign in again."),
    403: ("You cannot open this page", "Your role does not allow this page or this action."),
    429: ("Please wait", "There were too many tries. Wait a little, then try again."),
    404: ("Page not found", "There is no page at this address, or what it showed is gone."),
    422: ("This request was not understood", "Go back, check what you entered and try again."),
    500: ("Something went wrong", "The page could not be shown. Try again in a few minutes."),
    503: ("Service unavailable", "This part of the service is not available. Try again later."),
}

TEMPLATES = make_templates()


def site_for(request: Request) -> Site | None:
    path = request.url.path
    for prefix, site in SITES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return site
    return None


def error_page(request: Request, site: Site, status_code: int) -> Response:
    if site.page is not None:
        return site.page(request, status_code)
    # An unlisted 4xx is worded as a request the page cannot take, never as a missing page.
    heading, message = MESSAGES.get(status_code, MESSAGES[500 if status_code >= 500 else 422])
    context: dict[str, Any] = {
        **site.context(request),
        "layout": site.layout,
        "site_name": site.name,
        "home_url": site.home_url,
        "lang": "en",
        "heading": heading,
        "message": message,
        "status_code": status_code,
    }
    templates = site.templates or TEMPLATES
    return templates.TemplateResponse(request, "error.html", context, status_code=status_code)


Handler = Callable[[Request, Exception], "Response | Awaitable[Response]"]


async def _delegate(handler: Handler, request: Request, exc: Exception) -> Response:
    # Starlette accepts plain and async handlers alike; so must whatever wraps them.
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    return result


def install_error_pages(app: FastAPI) -> None:
    """Put HTML error pages in front of the problem handlers already installed on ``app``."""
    problem_http = app.exception_handlers[StarletteHTTPException]
    problem_validation = app.exception_handlers[RequestValidationError]
    problem_unexpected = app.exception_handlers[Exception]

    async def _http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        site = site_for(request)
        if site is None or exc.status_code < 400:
            return await _delegate(problem_http, request, exc)
        response = error_page(request, site, exc.status_code)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def _validation(request: Request, exc: Exception) -> Response:
        site = site_for(request)
        if site is None:
            return await _delegate(problem_validation, request, exc)
        return error_page(request, site, 422)

    async def _unexpected(request: Request, exc: Exception) -> Response:
        site = site_for(request)
        if site is None:
            return await _delegate(problem_unexpected, request, exc)
        # Only the type: an exception's text can quote the data it was handling.
        log.error("unhandled %s", type(exc).__name__)
        return error_page(request, site, 500)

    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
