"""One of the two servers the lookup bench loads: VOICE itself, or the bare baseline.

Run as ``python bench/_lookup_server.py voice|bare PORT WORKERS [BODY_FILE]``. Both run under
the same uvicorn settings (the same number of worker processes, no access log), so the only
difference is the work per request.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

BODY_ENV = "VOICE_BENCH_BODY"


def bare_app() -> FastAPI:
    """The baseline: the same JSON from a plain ``async def`` route, the cheapest FastAPI has."""
    body: dict[str, Any] = json.loads(Path(os.environ[BODY_ENV]).read_text(encoding="utf-8"))
    app = FastAPI()

    @app.get("/api/v1/self-service/cases")
    async def cases() -> dict[str, Any]:
        return body

    return app


def voice_app() -> FastAPI:
    from voice.app import create_app

    logging.getLogger("voice").setLevel(logging.WARNING)
    return create_app()


def main() -> None:
    kind, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if kind == "bare":
        os.environ[BODY_ENV] = sys.argv[4]
    uvicorn.run(
        f"_lookup_server:{kind}_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
