"""Picking each channel's adapter from settings."""

from __future__ import annotations

from voice.config import EmailAdapterKind, Settings, SmsAdapterKind
from voice.notify.adapters.base import EmailSender, SmsSender
from voice.notify.adapters.file import FileEmailSender, FileSmsSender
from voice.notify.adapters.memory import MemoryEmailSender, MemorySmsSender


def build_email_sender(settings: Settings) -> EmailSender:
    if settings.email_adapter is EmailAdapterKind.MEMORY:
        return MemoryEmailSender()
    return FileEmailSender(settings.outbox_dir / "email")


def build_sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_adapter is SmsAdapterKind.MEMORY:
        return MemorySmsSender()
    return FileSmsSender(settings.outbox_dir / "sms")
