"""The small public pages behind the acknowledgement link, in the victim's language."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from voice.config import Settings
from voice.notify.render import _environment

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "confirm_intro": "Please confirm that you received our notice about the case you follow.",
        "confirm_button": "I received the notice",
        "done": "Thank you. We have recorded that you received our notice.",
        "invalid": "This link is not valid, or it has expired.",
        "contact": "If you have questions, or feel unsafe, contact the",
    },
    "es": {
        "confirm_intro": "Por favor, confirme que recibió nuestro aviso sobre el caso que sigue.",
        "confirm_button": "Recibí el aviso",
        "done": "Gracias. Registramos que recibió nuestro aviso.",
        "invalid": "Este enlace no es válido o ha vencido.",
        "contact": "Si tiene preguntas o no se siente seguro, comuníquese con la",
    },
}


def ack_page(
    settings: Settings, language: str, state: str, *, action: str = "", status_code: int = 200
) -> HTMLResponse:
    language = language if language in WORDS else "en"
    html = (
        _environment(html=True)
        .get_template("pages/ack.html.j2")
        .render(
            language=language,
            words=WORDS[language],
            state=state,
            action=action,
            office_contact=settings.office_contact,
        )
    )
    # Referrer-Policy: the token in the URL must not leak to any link the page might hold.
    headers = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status_code, headers=headers)
