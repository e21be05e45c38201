"""Sending the confirmation link (email) and code (SMS) that prove a contact point.

Texts are in the victim's language, like every notice, from the ``notices`` catalogue
(templates ``messages/confirm_email.txt.j2`` and ``messages/confirm_phone.txt.j2``). Logs carry
the challenge id only.
"""

from __future__ import annotations

import logging
from typing import Any

from voice.config import Settings
from voice.notify.adapters.base import (
    DeliveryError,
    EmailSender,
    OutgoingEmail,
    OutgoingSms,
    SmsSender,
)
from voice.notify.catalogue import notice_language
from voice.notify.render import render_text
from voice.notify.sms import to_gsm7_where_possible
from voice.victims.verification import Challenge
from voice.victims.verification_models import ContactKind

log = logging.getLogger(__name__)

CONFIRM_PATH = "/self-service/confirm-email"


def confirm_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}{CONFIRM_PATH}?token={token}"


class VerificationCourier:
    """The ``voice.victims.verification.Courier`` the app hands the routes."""

    def __init__(self, *, settings: Settings, email: EmailSender, sms: SmsSender) -> None:
        self.settings, self.email, self.sms = settings, email, sms

    def deliver(self, challenge: Challenge) -> None:
        reference = f"verify-{challenge.kind.value}-{challenge.challenge_id}"
        try:
            if challenge.kind is ContactKind.EMAIL:
                self.email.send(message=self._email(challenge, reference))
            else:
                self.sms.send(message=self._sms(challenge, reference))
        except DeliveryError as exc:
            # The contact point stays unproven, and the periodic scan asks a liaison to call.
            log.warning("challenge %s not sent (%s)", challenge.challenge_id, exc.code)

    def _email(self, challenge: Challenge, reference: str) -> OutgoingEmail:
        words: dict[str, Any] = {
            "language": notice_language(challenge.language),
            "hours": self.settings.contact_link_hours,
            "url": confirm_url(self.settings, challenge.secret),
            "office": self.settings.office_contact,
        }
        template = "messages/confirm_email.txt.j2"
        return OutgoingEmail(
            to=challenge.to,
            sender=self.settings.email_from,
            subject=render_text(template, part="subject", **words).strip(),
            text=render_text(template, part="body", **words).strip() + "\n",
            message_id=f"<{reference}@voice.invalid>",
            reference=reference,
        )

    def _sms(self, challenge: Challenge, reference: str) -> OutgoingSms:
        text = render_text(
            "messages/confirm_phone.txt.j2",
            language=notice_language(challenge.language),
            code=challenge.secret,
            minutes=self.settings.contact_code_minutes,
        )
        return OutgoingSms(
            to=challenge.to,
            sender=self.settings.sms_from,
            body=to_gsm7_where_possible(" ".join(text.split())),
            reference=reference,
        )
