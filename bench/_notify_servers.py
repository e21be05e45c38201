"""Local providers for ``notify_fanout.py``, each run as its own process so that serving does not
compete with the service for one interpreter's GIL.

``python bench/_notify_servers.py smtp PORT`` runs an SMTP server (aiosmtpd);
``python bench/_notify_servers.py twilio PORT`` runs an HTTP server speaking Twilio's Messages
API (``POST /2010-04-01/Accounts/{sid}/Messages.json``, basic auth, 201 with a SID, repeats of an
``Idempotency-Key`` answered with the first message). Each prints ``ready`` once listening and,
on SIGTERM, one JSON line ``{"accepted": N, "unique": M}`` before it exits. Given a third
argument, a file path, it also writes there the wall-clock time each key was first accepted
(``timeliness.py`` compares them with the times its events were accepted).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import parse_qsl

SID = "AC00000000000000000000000000000042"
TOKEN = "bench-token"

_lock = threading.Lock()
_accepted = 0
_unique: dict[str, float] = {}
_done = threading.Event()


def _count(key: str) -> None:
    global _accepted
    with _lock:
        _accepted += 1
        _unique.setdefault(key, time.time())


def _report(_signum: int, _frame: FrameType | None) -> None:
    _done.set()


def run_smtp(port: int) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session

    class Handler:
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            content = envelope.original_content or b""
            message_id = ""
            for line in content.split(b"\r\n"):
                if line.lower().startswith(b"message-id:"):
                    message_id = line.split(b":", 1)[1].strip().decode()
                    break
                if not line:
                    break
            _count(message_id)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    _done.wait()
    controller.stop()


def run_twilio(port: int) -> None:
    messages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            form = dict(parse_qsl(body.decode()))
            key = self.headers.get("Idempotency-Key") or form.get("To", "")
            with _lock:
                sid = messages.setdefault(key, f"SM{len(messages) + 1:032d}")
            _count(key)
            data = json.dumps({"sid": sid, "status": "queued"}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    print("ready", flush=True)
    _done.wait()
    server.shutdown()


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, _report)
    (run_smtp if kind == "smtp" else run_twilio)(port)
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w", encoding="utf-8") as out:
            json.dump(_unique, out)
    print(json.dumps({"accepted": _accepted, "unique": len(_unique)}), flush=True)


if __name__ == "__main__":
    main()
