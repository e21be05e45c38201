"""Where the shared web assets are served from."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from voice.web.templating import STATIC_DIR, USWDS_DIR


def mount_static(app: FastAPI) -> None:
    # Mounted before any broader "/static" mount: Starlette takes the first mount whose prefix
    # matches, so these must come first to be reachable.
    app.mount("/static/uswds", StaticFiles(directory=USWDS_DIR), name="uswds")
    app.mount("/static/web", StaticFiles(directory=STATIC_DIR / "web"), name="web")
