"""Rendering notices from a disclosed view, and nothing else.

Each event type has its own template per language and channel (``email/<type>.<lang>.j2``,
``sms/<type>.<lang>.j2``), holding the plain-language explanation of the status and what the
victim can do next. It extends a layout chosen at render time: the email's text and HTML parts
share one template, so the two parts can never say different things. The HTML part is rendered
with autoescape on; the text part and the SMS are not HTML, so escaping would only garble them.
Both environments use StrictUndefined: a misspelt variable is an error, never a blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from voice.disclosure.release import DisclosedView
from voice.notify import sms
from voice.notify.models import CRITICAL_EVENT_TYPES, Channel
from voice.notify.phrases import (
    CUSTODY,
    HEADLINES,
    PROCEEDINGS_STAGES,
    RELEASE_EXPLANATIONS,
    RELEASE_TYPES,
    SUPPORTED_LANGUAGES,
)


class NoticeTooLong(ValueError):
    """Even the shortest form of a text message is over the segment cap."""


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    body: str
    html: str = ""


def _make_environment(*, html: bool) -> Environment:
    return Environment(
        loader=PackageLoader("voice.notify", "templates"),
        undefined=StrictUndefined,
        # Text parts and SMS are not HTML: escaping them would only turn "&" into "&amp;".
        autoescape=html,  # noqa: S701
        keep_trailing_newline=False,
    )


@lru_cache(maxsize=2)
def _environment(html: bool = False) -> Environment:
    return _make_environment(html=html)


def is_critical(event_type: str) -> bool:
    return event_type in CRITICAL_EVENT_TYPES


def _context(
    view: DisclosedView,
    language: str,
    office_contact: str,
    ack_url: str,
    retracted: DisclosedView | None,
) -> dict[str, Any]:
    nested = view.nested()
    subject = nested.get("subject", {})
    case = nested.get("case", {})
    event = nested.get("event", {})
    name = " ".join(
        str(subject[part]) for part in ("first_name", "middle_name", "last_name") if part in subject
    )
    retracted_type = str(
        (retracted.nested().get("event", {}) if retracted else {}).get("event_type")
    )
    release_type = str(case.get("release_type"))
    return {
        "event": event,
        "case": case,
        "subject_name": name,
        "headline": HEADLINES[language][event["event_type"]],
        "critical": is_critical(event["event_type"]),
        "custody_label": CUSTODY[language].get(str(case.get("custody_status")), ""),
        "release_label": RELEASE_TYPES[language].get(release_type, ""),
        "release_explanation": RELEASE_EXPLANATIONS[language].get(release_type, ""),
        "stage_label": PROCEEDINGS_STAGES[language].get(str(case.get("proceedings_stage")), ""),
        "retracted_headline": HEADLINES[language].get(retracted_type, ""),
        "office_contact": office_contact,
        "ack_url": ack_url,
    }


def _template_name(channel: Channel, event_type: str, language: str) -> str:
    return f"{channel.value}/{event_type}.{language}.j2"


def _render_sms(context: dict[str, Any], template: str, language: str) -> str:
    env = _environment()
    layout = f"sms/_layout.{language}.txt.j2"
    # The full text first; then without the explanation; then without the name as well.
    attempts: list[dict[str, Any]] = [
        {"brief": False},
        {"brief": True},
        {"brief": True, "subject_name": ""},
    ]
    for override in attempts:
        text = env.get_template(template).render({**context, "layout": layout, **override})
        text = sms.to_gsm7_where_possible(" ".join(text.split()))
        if sms.fits(text):
            return text
    raise NoticeTooLong(f"over {sms.MAX_SEGMENTS} segments")


def render_notice(
    *,
    view: DisclosedView,
    channel: Channel,
    language: str,
    office_contact: str,
    ack_url: str = "",
    retracted: DisclosedView | None = None,
) -> RenderedNotice:
    """Render one notice. ``ack_url`` adds the signed acknowledgement link to a critical email;
    ``retracted`` (for a correction) is the disclosed view of the event being corrected."""
    language = language if language in SUPPORTED_LANGUAGES else "en"
    context = _context(view, language, office_contact, ack_url, retracted)
    template = _template_name(channel, context["event"]["event_type"], language)
    if channel is Channel.SMS:
        return RenderedNotice(subject="", body=_render_sms(context, template, language) + "\n")
    text_env, html_env = _environment(), _environment(html=True)
    subject = text_env.get_template(f"email/subject.{language}.txt.j2").render(context).strip()
    body = text_env.get_template(template).render(
        {**context, "layout": f"email/_layout.{language}.txt.j2"}
    )
    html = html_env.get_template(template).render(
        {**context, "subject": subject, "layout": f"email/_layout.{language}.html.j2"}
    )
    return RenderedNotice(subject=subject, body=body.strip() + "\n", html=html.strip() + "\n")
