"""Real servers for the delivery tests: an SMTP server (aiosmtpd, STARTTLS and AUTH) and an
HTTP server that speaks Twilio's Messages API. Both run in the test process, on loopback."""

from __future__ import annotations

import base64
import itertools
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

SMTP_USER = "voice-relay"
SMTP_PASSWORD = "relay-password-never-logged"
TWILIO_SID = "AC00000000000000000000000000000001"
TWILIO_TOKEN = "twilio-token-never-logged"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    connection: int


@dataclass
class SmtpHandler:
    """Keeps every message; refuses recipients listed in ``refuse`` with the given reply."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    _connections: dict[int, int] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        connection = self._connections.setdefault(id(session), next(self._counter))
        content = envelope.original_content or b""
        parsed = BytesParser(policy=email_policy.default).parsebytes(content)
        assert isinstance(parsed, EmailMessage)
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                message=parsed,
                tls=session.ssl is not None,
                connection=connection,
            )
        )
        return "250 Message accepted for delivery"


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == SMTP_USER
        and auth_data.password.decode() == SMTP_PASSWORD
    )
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    port: int
    handler: SmtpHandler
    client_context: ssl.SSLContext
    controller: Controller | None = None
    _server_context: ssl.SSLContext | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self._server_context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=_authenticator,
            decode_data=False,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def smtp_server(*, start: bool = True) -> Iterator[SmtpServer]:
    """STARTTLS required, AUTH required; the client context trusts the test CA."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    server = SmtpServer(
        port=free_port(),
        handler=SmtpHandler(),
        client_context=client_context,
        _server_context=server_context,
    )
    if start:
        server.start()
    try:
        yield server
    finally:
        server.stop()


# ----------------------------------------------------------------------------- Twilio


@dataclass
class TwilioRequest:
    path: str
    form: dict[str, str]
    authorization: str | None
    idempotency_key: str | None


@dataclass
class FakeTwilio:
    """Twilio's Messages API, as far as VOICE uses it.

    ``script`` is a list of status codes to answer with, one per POST, before answering 201 for
    good. Like a provider that honours idempotency keys, a repeated key returns the message
    created the first time instead of creating another.
    """

    port: int
    script: list[int] = field(default_factory=list)
    requests: list[TwilioRequest] = field(default_factory=list)
    messages: dict[str, dict[str, str]] = field(default_factory=dict)
    _by_key: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, request: TwilioRequest) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(request)
            expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
            if request.authorization != expected:
                return 401, {"code": 20003, "message": "Authenticate", "status": 401}
            if request.path != f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
                return 404, {"code": 20404, "message": "Not found", "status": 404}
            if self.script:
                status = self.script.pop(0)
                if status >= 400:
                    code = 21211 if status == 400 else 20500
                    return status, {"code": code, "message": "refused", "status": status}
            key = request.idempotency_key
            if key and key in self._by_key:
                return 201, self.messages[self._by_key[key]]
            sid = f"SM{len(self.messages) + 1:032d}"
            message = {
                "sid": sid,
                "status": "queued",
                "to": request.form.get("To", ""),
                "from": request.form.get("From", ""),
                "body": request.form.get("Body", ""),
            }
            self.messages[sid] = message
            if key:
                self._by_key[key] = sid
            return 201, message


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8")
            request = TwilioRequest(
                path=self.path,
                form=dict(parse_qsl(body, keep_blank_values=True)),
                authorization=self.headers.get("Authorization"),
                idempotency_key=self.headers.get("Idempotency-Key"),
            )
            status, payload = fake.answer(request)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def twilio_server(script: list[int] | None = None) -> Iterator[FakeTwilio]:
    fake = FakeTwilio(port=0, script=list(script or []))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    server.daemon_threads = True
    fake.port = int(server.server_address[1])
    fake.server = server
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
