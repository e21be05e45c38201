"""One of the two servers the lookup bench loads: VOICE itself, or the bare baseline.

Run as ``python bench/_lookup_server.py voice|bare PORT [BODY_FILE]``. Both run under the same
uvicorn settings (one process, no access log), so the only difference is the work per request.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI


def bare_app(body: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/self-service/cases")
    def cases() -> dict[str, Any]:
        return body

    return app


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "bare":
        app = bare_app(json.loads(Path(sys.argv[3]).read_text(encoding="utf-8")))
    else:
        from voice.app import create_app

        logging.getLogger("voice").setLevel(logging.WARNING)
        app = create_app()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
