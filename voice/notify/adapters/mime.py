"""Building the MIME message every email adapter sends: text, and HTML as its alternative."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime

from voice.database import utcnow
from voice.notify.adapters.base import OutgoingEmail


def build_mime(message: OutgoingEmail) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = message.sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    # Ours, not the relay's: a bounce quotes it, and a resend after a crash repeats it.
    mime["Message-ID"] = message.message_id
    mime["Date"] = format_datetime(utcnow())
    mime.set_content(message.text)
    if message.html:
        mime.add_alternative(message.html, subtype="html")
    return mime
