"""The email that carries a one-time sign-in link, in the victim's language."""

from __future__ import annotations

import logging
import uuid

from voice.config import Settings
from voice.notify.adapters.base import DeliveryError, EmailSender, OutgoingEmail

log = logging.getLogger(__name__)

_TEXT = {
    "en": (
        "Your VOICE sign-in link",
        "Someone asked to sign in to VOICE with your Victim ID.\n\n"
        "To sign in, open this link within {minutes} minutes. It works once:\n{url}\n\n"
        "If this was not you, you need not do anything. Questions: {office}\n",
    ),
    "es": (
        "Su enlace para entrar en VOICE",
        "Alguien pidió entrar en VOICE con su número de víctima (Victim ID).\n\n"
        "Para entrar, abra este enlace en los próximos {minutes} minutos. Sirve una sola vez:\n"
        "{url}\n\nSi no fue usted, no tiene que hacer nada. Preguntas: {office}\n",
    ),
}


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/self-service/sign-in-link?token={token}"


def send_sign_in_link(
    *, sender: EmailSender, settings: Settings, to: str, token: str, language: str
) -> None:
    """Runs after the response is sent, so answering takes the same time for every Victim ID."""
    subject, body = _TEXT.get(language, _TEXT["en"])
    reference = uuid.uuid4().hex
    message = OutgoingEmail(
        to=to,
        sender=settings.email_from,
        subject=subject,
        text=body.format(
            minutes=settings.sign_in_link_minutes,
            url=link_url(settings, token),
            office=settings.office_contact,
        ),
        message_id=f"<sign-in-{reference}@voice.invalid>",
        reference=f"sign-in-{reference}",
    )
    try:
        sender.send(message=message)
    except DeliveryError as exc:
        log.warning("sign-in link email failed (%s)", exc.code)
