"""The sign-in link email speaks the victim's language, from the same catalogues as the pages."""

from __future__ import annotations

import pytest

from voice.config import Settings
from voice.notify.adapters.memory import MemoryEmailSender
from voice.selfservice.links import send_sign_in_link


@pytest.mark.parametrize(
    ("language", "subject", "sentence"),
    [
        ("en", "Your VOICE sign-in link", "It works once"),
        ("es", "Su enlace para entrar en VOICE", "Sirve una sola vez"),
        # A language whose catalogue has no translation yet reads as English, never blank.
        ("fr", "Your VOICE sign-in link", "It works once"),
    ],
)
def test_the_link_email_is_in_the_victims_language(
    settings: Settings, language: str, subject: str, sentence: str
) -> None:
    sender = MemoryEmailSender()
    send_sign_in_link(
        sender=sender, settings=settings, to="v@example.invalid", token="tok-123", language=language
    )
    (email,) = sender.outbox.values()
    assert email.subject == subject
    assert sentence in email.text
    assert "/self-service/sign-in-link?token=tok-123" in email.text
    assert f"{settings.sign_in_link_minutes} " in email.text
    assert "%(" not in email.text
