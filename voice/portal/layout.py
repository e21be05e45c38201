"""The portal's pages on the shared layout: its templates and its role-aware navigation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from voice.auth import access, matrix
from voice.auth.principals import Principal, PrincipalKind
from voice.web.errors import Site, register_site
from voice.web.templating import make_templates

HOME = "/portal"

# Label and path of each page in the portal's side navigation, in the order shown. A page
# another part of the portal has not registered yet has no matrix entry and so stays hidden.
NAV: tuple[tuple[str, str], ...] = (
    ("Work queue", HOME),
    ("Search", "/portal/search"),
    ("Cases", "/portal/cases"),
    ("Register a registrant", "/portal/registrants/new"),
    ("Write a message", "/portal/messages/new"),
    ("Messages to review", "/portal/messages/review"),
    ("Status entry", "/portal/status-entry"),
    ("Mass-event guard", "/portal/guard"),
    ("Disclosures", "/portal/privacy"),
    ("Quarantine", "/portal/security"),
    ("Webhooks", "/portal/webhooks"),
    ("Inquiries", "/portal/inquiries"),
    ("Log a phone call", "/portal/inquiries/calls/new"),
    ("Referral directory", "/portal/inquiries/directory"),
    ("Answer templates", "/portal/inquiries/templates"),
    ("My account", "/portal/me"),
)


def may(staff: Principal | None, method: str, route: str) -> bool:
    """Whether the access matrix lets ``staff`` use a route (its template path)."""
    if staff is None:
        return False
    return access.admits(matrix.allowed(method, route) or frozenset(), staff)


def portal_nav(request: Request, staff: Principal | None) -> list[tuple[str, str, bool]]:
    """The navigation a staff member sees: only the pages the access matrix lets them open.

    A link their role may not follow would only lead to a refusal, so it is not shown.
    """
    path = request.url.path
    shown = [(label, href) for label, href in NAV if may(staff, "GET", href)]
    # One current page: the entry nearest to the path ("Referral directory" on its own pages,
    # not "Inquiries" as well, whose path is a prefix of it).
    matching = [
        href for _, href in shown if path == href or (href != HOME and path.startswith(href + "/"))
    ]
    current = max(matching, key=len, default=None)
    return [(label, href, href == current) for label, href in shown]


TEMPLATES = make_templates(Path(__file__).parent / "templates")
TEMPLATES.env.globals["portal_nav"] = portal_nav
TEMPLATES.env.globals["may"] = may
TEMPLATES.env.globals["site_name"] = "VOICE staff portal"
TEMPLATES.env.globals["home_url"] = HOME


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """A portal page: every page gets the session's CSRF token for its forms."""
    context = {"csrf_token": access.csrf_token(request), **context}
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def _error_context(request: Request) -> dict[str, Any]:
    # The access check's answer when it ran; otherwise (an unknown path has no route
    # dependencies behind it) read the session the same way, so the page keeps its navigation.
    # That read only reads: this runs on the event loop.
    resolved = getattr(request.state, "principal", None)
    staff = (
        resolved
        if resolved is not None and resolved.kind is PrincipalKind.STAFF
        else access.staff_from_session(
            request, request.app.state.settings, request.app.state.engine, touch=False
        )
    )
    signed_in = staff.kind is PrincipalKind.STAFF
    return {"staff": staff if signed_in else None, "csrf_token": access.csrf_token(request)}


register_site(
    "/portal",
    Site(
        name="VOICE staff portal",
        home_url=HOME,
        templates=TEMPLATES,
        layout="portal_layout.html",
        context=_error_context,
    ),
)
