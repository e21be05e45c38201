"""The cookie session answers exactly as Starlette's does, whether or not a cookie came."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.middleware.sessions import SessionMiddleware

from voice.cookie_sessions import CookieSessionMiddleware

SECRET = "s" * 32


def _app(middleware: type[SessionMiddleware]) -> FastAPI:
    app = FastAPI()

    @app.get("/untouched")
    async def untouched() -> dict[str, str]:
        return {}

    @app.get("/read")
    async def read(request: Request) -> dict[str, str]:
        return {"csrf": str(request.session.get("csrf"))}

    @app.get("/write")
    async def write(request: Request) -> dict[str, str]:
        request.session["csrf"] = "token"
        return {}

    @app.get("/clear")
    async def clear(request: Request) -> dict[str, str]:
        request.session.clear()
        return {}

    app.add_middleware(middleware, secret_key=SECRET, session_cookie="voice_session", max_age=60)
    return app


def _answer(client: TestClient, path: str) -> tuple[int, dict[str, str], str | None]:
    response = client.get(path)
    cookie = response.headers.get("set-cookie")
    # The signature carries the time it was made; the rest must match exactly.
    shape = cookie.split("=", 1)[0] + ";" + cookie.split(";", 1)[1] if cookie else None
    headers = {k: v for k, v in response.headers.items() if k not in ("set-cookie",)}
    return response.status_code, headers, shape


@pytest.mark.parametrize("path", ["/untouched", "/read", "/write", "/clear"])
def test_without_a_cookie(path: str) -> None:
    with (
        TestClient(_app(SessionMiddleware)) as starlette,
        TestClient(_app(CookieSessionMiddleware)) as ours,
    ):
        assert _answer(ours, path) == _answer(starlette, path)


def test_a_session_written_without_a_cookie_is_read_back() -> None:
    with TestClient(_app(CookieSessionMiddleware)) as client:
        client.get("/write")
        assert client.get("/read").json() == {"csrf": "token"}
        client.get("/clear")
        assert client.get("/read").json() == {"csrf": "None"}


@pytest.mark.parametrize("path", ["/untouched", "/read", "/write", "/clear"])
def test_with_a_cookie(path: str) -> None:
    with (
        TestClient(_app(SessionMiddleware)) as starlette,
        TestClient(_app(CookieSessionMiddleware)) as ours,
    ):
        starlette.get("/write")
        ours.get("/write")
        assert _answer(ours, path) == _answer(starlette, path)
