"""Email over SMTP: STARTTLS, authentication, and connections kept open between sends.

The worker sends from several threads, so connections live in a small pool: a thread takes
one, sends, and puts it back. A connection idle for a while is checked with NOOP before reuse,
because servers drop idle clients. Any error closes the connection it happened on.

Refusals are classified the way SMTP means them: a 5xx refusal of the recipient or of the
message is permanent; 4xx replies, dropped connections and timeouts are retryable. A refused
login or sender is our configuration's fault, not the victim's address, so it is retried (and,
once the budget is spent, ends as a technical failure that staff are told of).
"""

from __future__ import annotations

import logging
import queue
import smtplib
import ssl
import time
from email.utils import parseaddr

from pydantic import SecretStr

from voice.notify.adapters.base import DeliveryError, OutgoingEmail
from voice.notify.adapters.mime import build_mime

log = logging.getLogger(__name__)

IDLE_CHECK_SECONDS = 10.0


class SmtpEmailSender:
    has_receipts = False

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: SecretStr | None = None,
        starttls: bool = True,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        pool_size: int = 8,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.starttls = starttls
        self.timeout = timeout
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._pool: queue.LifoQueue[tuple[smtplib.SMTP, float]] = queue.LifoQueue(pool_size)

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=self._ssl_context)
                smtp.ehlo()
            if self.username:
                password = self._password.get_secret_value() if self._password else ""
                smtp.login(self.username, password)
        except BaseException:
            _close(smtp)
            raise
        return smtp

    def _checkout(self) -> smtplib.SMTP:
        while True:
            try:
                smtp, idle_since = self._pool.get_nowait()
            except queue.Empty:
                return self._connect()
            if time.monotonic() - idle_since < IDLE_CHECK_SECONDS:
                return smtp
            try:
                if smtp.noop()[0] == 250:
                    return smtp
            except (smtplib.SMTPException, OSError):
                pass
            _close(smtp)

    def _checkin(self, smtp: smtplib.SMTP) -> None:
        try:
            self._pool.put_nowait((smtp, time.monotonic()))
        except queue.Full:
            _close(smtp)

    def send(self, *, message: OutgoingEmail) -> str:
        mime = build_mime(message)
        envelope_from = parseaddr(message.sender)[1] or message.sender
        smtp: smtplib.SMTP | None = None
        try:
            smtp = self._checkout()
            smtp.send_message(mime, from_addr=envelope_from, to_addrs=[message.to])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _refusal("smtp.recipient", codes[0] if codes else 0, smtp) from None
        except smtplib.SMTPDataError as exc:
            raise _refusal("smtp.data", exc.smtp_code, smtp) from None
        except smtplib.SMTPAuthenticationError as exc:
            _close(smtp)
            raise DeliveryError(f"smtp.auth.{exc.smtp_code}", retryable=True) from None
        except smtplib.SMTPResponseException as exc:
            _close(smtp)
            raise DeliveryError(f"smtp.{exc.smtp_code}", retryable=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            # Not connected, dropped, timed out, TLS failed: nothing was accepted.
            _close(smtp)
            raise DeliveryError(f"smtp.{type(exc).__name__}", retryable=True) from None
        self._checkin(smtp)
        return message.message_id

    def close(self) -> None:
        while True:
            try:
                smtp, _ = self._pool.get_nowait()
            except queue.Empty:
                return
            _close(smtp)


def _refusal(what: str, code: int, smtp: smtplib.SMTP | None) -> DeliveryError:
    _close(smtp)
    return DeliveryError(f"{what}.{code}", retryable=not 500 <= code < 600)


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
