"""The email that carries a one-time sign-in link, in the victim's language (catalogues)."""

from __future__ import annotations

import logging
import uuid

from voice.config import Settings
from voice.notify.adapters.base import DeliveryError, EmailSender, OutgoingEmail
from voice.web import i18n

log = logging.getLogger(__name__)


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/self-service/sign-in-link?token={token}"


def send_sign_in_link(
    *, sender: EmailSender, settings: Settings, to: str, token: str, language: str
) -> None:
    """Runs after the response is sent, so answering takes the same time for every Victim ID."""
    t = i18n.translations(language)
    subject = t.gettext("Your VOICE sign-in link")
    body = t.gettext(
        "Someone asked to sign in to VOICE with your Victim ID.\n\n"
        "To sign in, open this link within %(minutes)s minutes. It works once:\n%(url)s\n\n"
        "If this was not you, you need not do anything. Questions: %(office)s\n"
    )
    reference = uuid.uuid4().hex
    message = OutgoingEmail(
        to=to,
        sender=settings.email_from,
        subject=subject,
        text=body
        % {
            "minutes": settings.sign_in_link_minutes,
            "url": link_url(settings, token),
            "office": settings.office_contact,
        },
        message_id=f"<sign-in-{reference}@voice.invalid>",
        reference=f"sign-in-{reference}",
    )
    try:
        sender.send(message=message)
    except DeliveryError as exc:
        log.warning("sign-in link email failed (%s)", exc.code)
