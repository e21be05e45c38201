"""Rendering notices from a disclosed view, and nothing else.

Each kind of notice (an event type) has one template, ``notices/<type>.j2``, for every language
and channel: its blocks hold the plain-language explanation of the status and what the victim
can do next (shown in email), and a short explanation (shown in a text message). It extends a
layout chosen at render time: the email's text and HTML parts share the notice's template, so
the two parts can never say different things.

Every word comes from the ``notices`` gettext catalogue through jinja2's i18n extension. There is
one environment per language (and per text or HTML), built once per process: its templates are
compiled once and its catalogue is compiled once (voice.notify.catalogue), since the worker
renders per notification. Dates and times are formatted by Babel in the notice's language and the
victim's time zone.

The HTML part is rendered with autoescape on (a translation is trusted, the values put into it
are escaped); the text part and the SMS are not HTML, so escaping would only garble them. Both
environments use StrictUndefined: a misspelt variable is an error, never a blank.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import escape

from voice.disclosure.release import DisclosedView
from voice.notify import phrases, sms
from voice.notify.catalogue import notice_language, translations
from voice.notify.models import CRITICAL_EVENT_TYPES, Channel
from voice.web.i18n import date_time, long_date, text_direction


class NoticeTooLong(ValueError):
    """Even the shortest form of a text message is over the segment cap."""


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    body: str
    html: str = ""


def _make_environment(*, html: bool, language: str) -> Environment:
    env = Environment(
        loader=PackageLoader("voice.notify", "templates"),
        undefined=StrictUndefined,
        # Text parts and SMS are not HTML: escaping them would only turn "&" into "&amp;".
        autoescape=html,  # noqa: S701
        keep_trailing_newline=False,
        extensions=["jinja2.ext.i18n"],
        # Templates ship inside the package and never change under a running process: no
        # file-system check on every lookup.
        auto_reload=False,
    )
    # The i18n extension adds this method. Old-style gettext is a plain call per message; the
    # new style looks the function up through the render's context each time, which made
    # notices several times slower to render.
    env.install_gettext_translations(  # type: ignore[attr-defined]
        translations(language), newstyle=False
    )
    env.globals["_"] = env.globals["gettext"]  # the same, without the extension's alias hop
    return env


@cache
def _environment(html: bool = False, language: str = "en") -> Environment:
    """One environment per language and kind of output, built once per process: its templates
    are compiled on first use and its catalogue is compiled once."""
    return _make_environment(html=html, language=language)


def render_text(template: str, *, language: str, **context: Any) -> str:
    """A plain-text message (not HTML) from ``template`` in ``language``'s words."""
    return _environment(language=language).get_template(template).render(context, language=language)


def render_page(template: str, *, language: str, **context: Any) -> str:
    """A small HTML page from ``template``, marked with ``language`` and its direction."""
    return (
        _environment(html=True, language=language)
        .get_template(template)
        .render(context, language=language, direction=text_direction(language))
    )


def is_critical(event_type: str) -> bool:
    return event_type in CRITICAL_EVENT_TYPES


def _as_datetime(value: object) -> datetime | None:
    """A released timestamp (ISO text, or a datetime in a view built in code) as an aware
    datetime; a naive one is UTC, as everything the service stores is."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _formatted(
    form: Callable[[datetime, str, str | None], str],
    value: datetime | None,
    language: str,
    time_zone: str | None,
) -> str:
    """``value`` in words, or its ISO date where the victim's calendar cannot hold it (a year
    at the edge of what Python dates allow): a notice is never lost to a date's formatting."""
    if value is None:
        return ""
    try:
        return form(value, language, time_zone)
    except (OverflowError, ValueError):
        return value.date().isoformat()


def _context(
    view: DisclosedView,
    language: str,
    time_zone: str | None,
    office_contact: str,
    ack_url: str,
    retracted: DisclosedView | None,
    *,
    dated: bool,
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
    # Text messages show no dates: no time spent formatting them.
    occurred = _as_datetime(event.get("occurred_at")) if dated else None
    hearing = _as_datetime(case.get("hearing_at")) if dated else None
    facility = [
        str(case[part])
        for part in ("facility_name", "facility_city", "facility_state")
        if part in case
    ]
    return {
        "language": language,
        "direction": text_direction(language),
        "event": event,
        "case": case,
        "subject_name": name,
        "headline": phrases.headline(event["event_type"], language),
        "critical": is_critical(event["event_type"]),
        "occurred_on": _formatted(long_date, occurred, language, time_zone),
        "hearing_when": _formatted(date_time, hearing, language, time_zone),
        "facility": ", ".join(facility),
        "custody_label": phrases.custody(str(case.get("custody_status")), language),
        "release_label": phrases.release_type(release_type, language),
        "release_explanation": phrases.release_explanation(release_type, language),
        "stage_label": phrases.proceedings_stage(str(case.get("proceedings_stage")), language),
        "retracted_headline": phrases.headline(retracted_type, language),
        "office_contact": office_contact,
        "ack_url": ack_url,
    }


def _render_sms(context: dict[str, Any], template: str) -> str:
    env = _environment(language=context["language"])
    # The full text first; then without the explanation; then without the name as well.
    attempts: list[dict[str, Any]] = [
        {"brief": False},
        {"brief": True},
        {"brief": True, "subject_name": ""},
    ]
    for override in attempts:
        text = env.get_template(template).render(
            {**context, "layout": "layouts/sms.txt.j2", **override}
        )
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
    time_zone: str | None = None,
) -> RenderedNotice:
    """Render one notice in the victim's ``language`` (English while that language's catalogue
    is incomplete), with dates in their ``time_zone`` (the office's default when None).
    ``ack_url`` adds the signed acknowledgement link to a critical email; ``retracted`` (for a
    correction) is the disclosed view of the event being corrected."""
    # An event's notices differ only by language, time zone and (in a critical email) the
    # recipient's own acknowledgement link: rendered once per kind, the link put in after.
    # A release to 10,000 registrants renders a handful of notices, not 10,000.
    link = _ACK_MARK if channel is Channel.EMAIL and ack_url else ack_url
    rendered = _render_once(
        _Key(
            _view_key(view),
            channel,
            language,
            office_contact,
            link,
            _view_key(retracted) if retracted is not None else None,
            time_zone,
        ),
        view,
        retracted,
    )
    if link != _ACK_MARK:
        return rendered
    return RenderedNotice(
        subject=rendered.subject,
        body=rendered.body.replace(_ACK_MARK, ack_url),
        html=rendered.html.replace(_ACK_MARK, str(escape(ack_url))),
    )


# Letters and digits only: autoescape leaves it as it is, and no notice says it.
_ACK_MARK = "VOICEACKLINK0d7c1f5e9b"


@dataclass(frozen=True)
class _Key:
    view: tuple[Any, ...]
    channel: Channel
    language: str
    office_contact: str
    ack_url: str
    retracted: tuple[Any, ...] | None
    time_zone: str | None


def _view_key(view: DisclosedView) -> tuple[Any, ...]:
    """What a rendered notice depends on in a view: its audience and what it released."""
    return (view.audience, tuple(sorted((k, repr(v)) for k, v in view.released.items())))


_RENDERED: dict[_Key, RenderedNotice] = {}
_RENDERED_MAX = 512


def _render_once(key: _Key, view: DisclosedView, retracted: DisclosedView | None) -> RenderedNotice:
    found = _RENDERED.get(key)
    if found is None:
        found = _render(
            view=view,
            channel=key.channel,
            language=key.language,
            office_contact=key.office_contact,
            ack_url=key.ack_url,
            retracted=retracted,
            time_zone=key.time_zone,
        )
        if len(_RENDERED) >= _RENDERED_MAX:
            _RENDERED.clear()  # a new event's notices: the old ones are not asked for again
        _RENDERED[key] = found
    return found


def _render(
    *,
    view: DisclosedView,
    channel: Channel,
    language: str,
    office_contact: str,
    ack_url: str,
    retracted: DisclosedView | None,
    time_zone: str | None,
) -> RenderedNotice:
    language = notice_language(language)
    context = _context(
        view,
        language,
        time_zone,
        office_contact,
        ack_url,
        retracted,
        dated=channel is Channel.EMAIL,
    )
    template = f"notices/{context['event']['event_type']}.j2"
    if channel is Channel.SMS:
        return RenderedNotice(subject="", body=_render_sms(context, template) + "\n")
    text_env, html_env = _environment(language=language), _environment(True, language)
    subject = text_env.get_template("layouts/email_subject.txt.j2").render(context).strip()
    body = text_env.get_template(template).render({**context, "layout": "layouts/email.txt.j2"})
    html = html_env.get_template(template).render(
        {**context, "subject": subject, "layout": "layouts/email.html.j2"}
    )
    return RenderedNotice(subject=subject, body=body.strip() + "\n", html=html.strip() + "\n")
