"""The portal's pages on the shared layout: its templates and its role-aware navigation."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request

from voice.auth import access, matrix
from voice.auth.principals import Principal
from voice.web.templating import make_templates

# Label and path of each page in the portal's navigation, in the order shown.
NAV: tuple[tuple[str, str], ...] = (
    ("Cases", "/portal/cases"),
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
