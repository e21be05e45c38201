"""A request id for every request: in the ``x-request-id`` answer header and every log line.

An id the caller sends is kept only when it looks like one (short, plain characters), so a
caller cannot write arbitrary text into the logs through it.
"""

from __future__ import annotations

import random
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voice.logs import request_id

_PLAIN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def new_request_id() -> str:
    """32 random hex digits, like a UUID4's: unique enough to find one request's log lines.

    Not ``uuid.uuid4()``: ``os.urandom`` gives up the GIL for its system call, and on a busy
    server the event loop then waits for a worker thread's turn to end before it can go on
    (a cost measured per request). An id needs to be unique, not unguessable; the generator
    is seeded from the system's randomness and reseeded in every forked worker.
    """
    return f"{random.getrandbits(128):032x}"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _PLAIN.match(given) else new_request_id()
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["x-request-id"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
