"""One way to build the jinja2 environment every server-rendered page uses."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from voice.web import i18n

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
        extensions=["jinja2.ext.do", "jinja2.ext.i18n"],
    )
    env.globals["uswds_version"] = uswds_version()
    # English until a site installs its catalogue: the shared layout marks its text for
    # translation, and the staff portal is English only.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


def make_templates(*page_dirs: Path) -> Jinja2Templates:
    return Jinja2Templates(env=make_environment(*page_dirs))


def make_localized_templates(language: str, *page_dirs: Path) -> Jinja2Templates:
    """Templates whose ``_()`` and ``gettext()`` speak ``language`` (from voice/web/i18n.py)."""
    env = make_environment(*page_dirs)
    env.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations(language), newstyle=True
    )
    env.globals["lang"] = language
    env.globals["dir"] = i18n.text_direction(language)
    return Jinja2Templates(env=env)
