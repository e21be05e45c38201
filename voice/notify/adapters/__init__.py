"""Picking each channel's adapter from settings.

``file`` (the default) and ``memory`` deliver to nobody. ``smtp`` and ``twilio`` reach real
people, and so may a third-party adapter, registered in the ``voice.adapters`` entry-point group
under the name ``email.<name>`` or ``sms.<name>`` as a callable that takes the settings and
returns a sender. Safe test mode wraps every adapter that reaches real people.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import httpx

from voice.config import EmailAdapterKind, Settings, SmsAdapterKind
from voice.notify.adapters.base import EmailSender, SmsSender
from voice.notify.adapters.file import FileEmailSender, FileSmsSender
from voice.notify.adapters.memory import MemoryEmailSender, MemorySmsSender
from voice.notify.adapters.safe import AllowListEmailSender, AllowListSmsSender

ENTRY_POINT_GROUP = "voice.adapters"


class UnknownAdapterError(ValueError):
    pass


def load_plugin(channel: str, name: str, settings: Settings) -> Any:
    wanted = f"{channel}.{name}"
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == wanted:
            return entry_point.load()(settings)
    raise UnknownAdapterError(
        f"no {channel} adapter {name!r}: not built in, and no '{wanted}' entry point in the "
        f"'{ENTRY_POINT_GROUP}' group"
    )


def build_email_sender(settings: Settings) -> EmailSender:
    kind = settings.email_adapter
    if kind == EmailAdapterKind.MEMORY:
        return MemoryEmailSender()
    if kind == EmailAdapterKind.FILE:
        return FileEmailSender(settings.outbox_dir / "email")
    sender: EmailSender
    if kind == EmailAdapterKind.SMTP:
        from voice.notify.adapters.smtp import SmtpEmailSender

        sender = SmtpEmailSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
            pool_size=max(1, settings.worker_send_concurrency),
        )
    else:
        sender = load_plugin("email", str(kind), settings)
    if settings.test_mode:
        return AllowListEmailSender(sender, settings.test_recipients)
    return sender


def build_sms_sender(settings: Settings) -> SmsSender:
    kind = settings.sms_adapter
    if kind == SmsAdapterKind.MEMORY:
        return MemorySmsSender()
    if kind == SmsAdapterKind.FILE:
        return FileSmsSender(settings.outbox_dir / "sms")
    sender: SmsSender
    if kind == SmsAdapterKind.TWILIO:
        from voice.notify.adapters.twilio import TwilioSmsSender

        concurrency = max(1, settings.worker_send_concurrency)
        client = httpx.Client(
            timeout=settings.twilio_timeout_seconds,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        sender = TwilioSmsSender(
            client=client,
            base_url=settings.twilio_base_url,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            callback_base_url=settings.public_base_url,
        )
    else:
        sender = load_plugin("sms", str(kind), settings)
    if settings.test_mode:
        return AllowListSmsSender(sender, settings.test_recipients)
    return sender
