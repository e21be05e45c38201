"""Callbacks from providers (receipts, inbound texts, bounces) and the signed acknowledgement
link. Providers get no problem+json: Twilio reads TwiML, a bounce mailbox reads a status code."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Annotated
from xml.sax.saxutils import escape as xml_escape

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from voice.deps import SessionDep, SettingsDep
from voice.notify.callbacks import acknowledgements as ack
from voice.notify.callbacks import bounces, inbound, receipts
from voice.notify.models import AckChannel
from voice.notify.pages import ack_page
from voice.notify.signature import valid_twilio_signature
from voice.victims.deps import NowDep
from voice.victims.models import Victim, VictimCaseLink

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

FormParams = list[tuple[str, str]]


async def signed_twilio_form(request: Request) -> FormParams:
    """The POST parameters of a request Twilio signed; anything else is refused with 403."""
    settings = request.app.state.settings
    form = await request.form()
    params = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    # The URL as Twilio called it: behind a proxy, the public base URL, not the socket's.
    url = settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    token = settings.twilio_auth_token.get_secret_value()
    if not valid_twilio_signature(token, url, params, request.headers.get("X-Twilio-Signature")):
        log.warning("refused an unsigned or mis-signed callback to %s", request.url.path)
        raise HTTPException(status_code=403, detail="invalid signature")
    return params


SignedForm = Annotated[FormParams, Depends(signed_twilio_form)]


@router.post("/callbacks/sms/status", status_code=204)
def sms_status(request: Request, form: SignedForm, session: SessionDep) -> Response:
    fields = dict(form)
    receipts.record_sms_receipt(
        session=session,
        reference=request.query_params.get("reference"),
        message_sid=fields.get("MessageSid", ""),
        status=fields.get("MessageStatus", ""),
        error_code=fields.get("ErrorCode") or None,
    )
    return Response(status_code=204)


@router.post("/callbacks/sms/inbound")
def sms_inbound(
    request: Request, form: SignedForm, session: SessionDep, settings: SettingsDep, now: NowDep
) -> Response:
    fields = dict(form)
    reply = inbound.handle_inbound(
        session=session,
        settings=settings,
        sender=fields.get("From", ""),
        body=fields.get("Body", ""),
        now=now,
        message_sid=fields.get("MessageSid", ""),
        on_free_text=getattr(request.app.state, "free_text_sink", None),
    )
    inner = f"<Message>{xml_escape(reply)}</Message>" if reply else ""
    twiml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'
    return Response(content=twiml, media_type="application/xml")


async def authorised_bounce(request: Request) -> bounces.Bounce:
    """The bounce the bounce mailbox (or a provider) posted, with its bearer token checked."""
    settings = request.app.state.settings
    expected = settings.bounce_token.get_secret_value() if settings.bounce_token else ""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(status_code=403, detail="a valid bounce token is required")
    raw = await request.body()
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            return bounces.parse_json(json.loads(raw))
        return bounces.parse_dsn(raw)
    except (bounces.UnreadableBounce, ValueError) as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None


@router.post("/callbacks/email/bounce", status_code=204)
def email_bounce(
    bounce: Annotated[bounces.Bounce, Depends(authorised_bounce)], session: SessionDep
) -> Response:
    bounces.record_bounce(session=session, bounce=bounce)
    return Response(status_code=204)


def _language(session: SessionDep, link_id: int) -> str:
    link = session.get(VictimCaseLink, link_id)
    victim = session.get(Victim, link.victim_id) if link else None
    return victim.preferred_language if victim else "en"


@router.get("/ack/{token}", response_class=HTMLResponse)
def ack_form(token: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    # A GET only shows the button: mail scanners open links, and must not acknowledge for you.
    try:
        _, link_id = ack.read_ack_token(settings=settings, token=token)
    except ack.InvalidAckToken:
        return ack_page(settings, "en", "invalid", status_code=400)
    return ack_page(settings, _language(session, link_id), "confirm", action=request.url.path)


@router.post("/ack/{token}", response_class=HTMLResponse)
def ack_submit(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    try:
        event_id, link_id = ack.read_ack_token(settings=settings, token=token)
    except ack.InvalidAckToken:
        return ack_page(settings, "en", "invalid", status_code=400)
    language = _language(session, link_id)
    if not ack.was_notified(session=session, event_id=event_id, link_id=link_id):
        return ack_page(settings, language, "invalid", status_code=400)
    ack.acknowledge(session=session, event_id=event_id, link_id=link_id, via=AckChannel.EMAIL_LINK)
    return ack_page(settings, language, "done")
