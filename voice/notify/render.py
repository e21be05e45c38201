"""Rendering notices from a disclosed view, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from voice.disclosure.filter import DisclosedView
from voice.notify.models import Channel
from voice.notify.phrases import (
    CUSTODY,
    HEADLINES,
    PROCEEDINGS_STAGES,
    RELEASE_TYPES,
    SUPPORTED_LANGUAGES,
)


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    body: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("voice.notify", "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html"]),
        keep_trailing_newline=False,
    )


def _context(view: DisclosedView, language: str, office_contact: str) -> dict[str, Any]:
    nested = view.nested()
    subject = nested.get("subject", {})
    case = nested.get("case", {})
    event = nested.get("event", {})
    name = " ".join(
        str(subject[part]) for part in ("first_name", "middle_name", "last_name") if part in subject
    )
    return {
        "event": event,
        "case": case,
        "subject_name": name,
        "headline": HEADLINES[language][event["event_type"]],
        "custody_label": CUSTODY[language].get(str(case.get("custody_status")), ""),
        "release_label": RELEASE_TYPES[language].get(str(case.get("release_type")), ""),
        "stage_label": PROCEEDINGS_STAGES[language].get(str(case.get("proceedings_stage")), ""),
        "office_contact": office_contact,
    }


def render_notice(
    *, view: DisclosedView, channel: Channel, language: str, office_contact: str
) -> RenderedNotice:
    language = language if language in SUPPORTED_LANGUAGES else "en"
    context = _context(view, language, office_contact)
    env = _environment()
    body = env.get_template(f"{channel.value}/notice.{language}.txt.j2").render(context)
    subject = ""
    if channel is Channel.EMAIL:
        subject = env.get_template(f"email/subject.{language}.txt.j2").render(context).strip()
    return RenderedNotice(subject=subject, body=body.strip() + "\n")
