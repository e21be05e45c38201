"""The small public pages behind the acknowledgement link, in the victim's language."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from voice.config import Settings
from voice.notify.catalogue import notice_language
from voice.notify.render import render_page


def ack_page(
    settings: Settings, language: str, state: str, *, action: str = "", status_code: int = 200
) -> HTMLResponse:
    html = render_page(
        "pages/ack.html.j2",
        language=notice_language(language),
        state=state,
        action=action,
        office_contact=settings.office_contact,
    )
    # Referrer-Policy: the token in the URL must not leak to any link the page might hold.
    headers = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status_code, headers=headers)
