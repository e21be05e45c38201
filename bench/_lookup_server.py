"""One of the servers the lookup bench loads: VOICE itself, or a bare baseline.

Run as ``python bench/_lookup_server.py voice|bare|bare-def PORT [BODY_FILE]``. All run under
the same uvicorn settings (one process, no access log), so the only difference is the work per
request. ``bare`` returns the JSON from an ``async def`` route, the cheapest FastAPI has, and is
the baseline; ``bare-def`` does so from a plain ``def`` route, which FastAPI runs on a worker
thread, and is reported for comparison.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

PATH = "/api/v1/self-service/cases"


def bare_app(body: dict[str, Any], *, on_thread: bool) -> FastAPI:
    app = FastAPI()
    if on_thread:

        @app.get(PATH)
        def cases_on_thread() -> dict[str, Any]:
            return body

    else:

        @app.get(PATH)
        async def cases() -> dict[str, Any]:
            return body

    return app


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind in ("bare", "bare-def"):
        body = json.loads(Path(sys.argv[3]).read_text(encoding="utf-8"))
        app = bare_app(body, on_thread=kind == "bare-def")
    else:
        from voice.app import create_app

        logging.getLogger("voice").setLevel(logging.WARNING)
        app = create_app()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
