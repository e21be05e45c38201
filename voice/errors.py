"""RFC 9457 problem details, for every error the API returns."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from voice.headers import security_headers

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def refused(exc: StarletteHTTPException) -> JSONResponse:
    """``exc`` as an answer rather than a raise: for refusals whose own record must commit
    with the request (a failed sign-in still counts against the limit)."""
    response = problem(exc.status_code, _title(exc.status_code), str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem(exc.status_code, _title(exc.status_code), str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Pydantic's messages can echo input values; report only where and what kind.
        errors = [
            {
                "pointer": "/" + "/".join(str(p) for p in e.get("loc", ())[1:]),
                "detail": e.get("type", "invalid"),
            }
            for e in exc.errors()
        ]
        return problem(422, "Unprocessable Content", "the request is invalid", errors=errors)

    @app.exception_handler(OperationalError)
    async def _database(_: Request, exc: OperationalError) -> JSONResponse:
        # The database is unreachable, locked past its timeout, or failing to write. Whatever
        # the request was doing did not commit, and nothing that waited on it was released.
        log.error("database unavailable (%s)", type(exc.orig).__name__)
        response = problem(
            503, "Service Unavailable", "the database is unavailable; try again shortly"
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Only the type: an exception's text can quote the data it was handling.
        log.error("unhandled %s", type(exc).__name__)
        response = problem(500, "Internal Server Error", "the request failed")
        # Starlette sends this answer from outside every middleware, security headers included.
        response.headers.update(security_headers(request.url.path))
        return response


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
