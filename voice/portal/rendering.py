"""Rendering for the portal's operations pages: one helper, so every page gets the CSRF token.

The operations pages (messages, status entry, guard, privacy, security, webhooks) each keep a
``PAGES`` list of (title, path, grants): the navigation offers a page only to the roles its
grants admit, the same grants the access matrix enforces.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from voice.auth import matrix
from voice.auth.access import csrf_token
from voice.portal.layout import TEMPLATES

# (title, path, grants) for a page a navigation may link to.
NavPage = tuple[str, str, frozenset[str]]


def nav_page(title: str, path: str) -> NavPage:
    """A page's navigation entry, with the grants the access matrix holds for it."""
    grants = matrix.allowed("GET", path)
    if grants is None:
        raise LookupError(f"GET {path} is not in the access matrix")
    return (title, path, grants)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    context = {"csrf_token": csrf_token(request), **context}
    return TEMPLATES.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers
    )
