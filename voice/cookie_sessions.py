"""The signed cookie session of the browser pages, at no cost to requests that carry no cookie.

Starlette's ``SessionMiddleware`` reads every request's cookies through a headers view and
rewrites every response's headers. The API's callers (a victim's lookup with its bearer
token, an upstream feed) send no cookie at all, and on the lookup that reading cost more than
any other middleware. A request without a ``Cookie`` header here gets its empty session
directly, and its response passes untouched unless the request used the session, when it
gets the headers Starlette would have given it. Every other request is Starlette's own.
"""

from __future__ import annotations

import json
from base64 import b64encode

from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import Session, SessionMiddleware
from starlette.types import Message, Receive, Scope, Send


class CookieSessionMiddleware(SessionMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(name == b"cookie" for name, _ in scope["headers"]):
            await super().__call__(scope, receive, send)
            return
        session = Session()
        scope["session"] = session

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start" and session.accessed:
                self._started_empty(message, session)
            await send(message)

        await self.app(scope, receive, send_with_session)

    def _started_empty(self, message: Message, session: Session) -> None:
        """Starlette's response headers for a session that began empty (no cookie came)."""
        message.setdefault("headers", [])
        headers = MutableHeaders(scope=message)
        headers.add_vary_header("Cookie")
        if session.modified and session:
            data = self.signer.sign(b64encode(json.dumps(session).encode("utf-8")))
            max_age = f"Max-Age={self.max_age}; " if self.max_age is not None else ""
            headers.append(
                "Set-Cookie",
                f"{self.session_cookie}={data.decode('utf-8')}; path={self.path}; "
                f"{max_age}{self.security_flags}",
            )
