"""The portal's pages on the shared layout: its templates and its role-aware navigation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request

from voice.auth import access, matrix
from voice.auth.principals import Principal, PrincipalKind
from voice.web.errors import Site, register_site
from voice.web.templating import make_templates

# Label and path of each page in the portal's navigation, in the order shown.
NAV: tuple[tuple[str, str], ...] = (
    ("Cases", "/portal/cases"),
    ("Inquiries", "/portal/inquiries"),
    ("My account", "/portal/me"),
)


def portal_nav(request: Request, staff: Principal | None) -> list[tuple[str, str, bool]]:
    """The navigation a staff member sees: only the pages the access matrix lets them open.

    A link their role may not follow would only lead to a refusal, so it is not shown.
    """
    if staff is None:
        return []
    path = request.url.path
    return [
        (label, href, path == href or path.startswith(href + "/"))
        for label, href in NAV
        if access.admits(matrix.allowed("GET", href) or frozenset(), staff)
    ]


TEMPLATES = make_templates(Path(__file__).parent / "templates")
TEMPLATES.env.globals["portal_nav"] = portal_nav
TEMPLATES.env.globals["site_name"] = "VOICE staff portal"
# Every staff role may open its own account page; not every role may open the case list.
TEMPLATES.env.globals["home_url"] = "/portal/me"


def _error_context(request: Request) -> dict[str, Any]:
    # An error page has no route dependencies behind it: read the signed-in staff member from
    # the session the same way the access check does, so the page keeps its navigation.
    staff = access.staff_from_session(request, request.app.state.settings)
    signed_in = staff.kind is PrincipalKind.STAFF
    return {"staff": staff if signed_in else None, "csrf_token": access.csrf_token(request)}


register_site(
    "/portal",
    Site(
        name="VOICE staff portal",
        home_url="/portal/me",
        templates=TEMPLATES,
        layout="portal_layout.html",
        context=_error_context,
    ),
)
