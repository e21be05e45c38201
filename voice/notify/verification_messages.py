"""Sending the confirmation link (email) and code (SMS) that prove a contact point.

Texts are in the victim's language, like every notice. Logs carry the challenge id only.
"""

from __future__ import annotations

import logging

from voice.config import Settings
from voice.notify.adapters.base import (
    DeliveryError,
    EmailSender,
    OutgoingEmail,
    OutgoingSms,
    SmsSender,
)
from voice.notify.sms import to_gsm7_where_possible
from voice.victims.verification import Challenge
from voice.victims.verification_models import ContactKind

log = logging.getLogger(__name__)

CONFIRM_PATH = "/self-service/confirm-email"

_EMAIL = {
    "en": (
        "Confirm your email address for VOICE",
        "The VOICE office registered this email address to keep you informed about a case.\n\n"
        "To confirm that it reaches you, open this link within {hours} hours. It works once:\n"
        "{url}\n\n"
        "Until you confirm it, we will not send notices to this address.\n"
        "If you did not expect this, contact the {office}.\n",
    ),
    "es": (
        "Confirme su correo electrónico para VOICE",
        "La oficina de VOICE registró este correo electrónico para informarle sobre un caso.\n\n"
        "Para confirmar que le llega, abra este enlace en las próximas {hours} horas. Sirve una "
        "sola vez:\n{url}\n\n"
        "Hasta que lo confirme, no enviaremos avisos a esta dirección.\n"
        "Si no esperaba este mensaje, comuníquese con la {office}.\n",
    ),
}

_SMS = {
    "en": (
        "VOICE: Your code is {code}. Reply with it to this number, or enter it on the VOICE "
        "self-service page, within {minutes} minutes, to confirm this phone number."
    ),
    "es": (
        "VOICE: Su código es {code}. Respóndalo a este número, o escríbalo en la página de "
        "autoservicio de VOICE, en los próximos {minutes} minutos, para confirmar este teléfono."
    ),
}


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
        subject, body = _EMAIL.get(challenge.language, _EMAIL["en"])
        return OutgoingEmail(
            to=challenge.to,
            sender=self.settings.email_from,
            subject=subject,
            text=body.format(
                hours=self.settings.contact_link_hours,
                url=confirm_url(self.settings, challenge.secret),
                office=self.settings.office_contact,
            ),
            message_id=f"<{reference}@voice.invalid>",
            reference=reference,
        )

    def _sms(self, challenge: Challenge, reference: str) -> OutgoingSms:
        text = _SMS.get(challenge.language, _SMS["en"]).format(
            code=challenge.secret, minutes=self.settings.contact_code_minutes
        )
        return OutgoingSms(
            to=challenge.to,
            sender=self.settings.sms_from,
            body=to_gsm7_where_possible(text),
            reference=reference,
        )
