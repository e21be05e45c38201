"""One way to build the jinja2 environment every server-rendered page uses."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
USWDS_DIR = STATIC_DIR / "uswds"


def uswds_version() -> str:
    # The refresh script records which release it copied; it busts browsers' caches on upgrade.
    return (USWDS_DIR / "VERSION").read_text(encoding="utf-8").strip()


def make_environment(*page_dirs: Path) -> Environment:
    """A jinja2 environment that finds a domain's pages first, then the shared layout."""
    loader = ChoiceLoader(
        [*(FileSystemLoader(str(d)) for d in page_dirs), FileSystemLoader(str(TEMPLATES_DIR))]
    )
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
    )
    env.globals["uswds_version"] = uswds_version()
    return env


def make_templates(*page_dirs: Path) -> Jinja2Templates:
    return Jinja2Templates(env=make_environment(*page_dirs))
