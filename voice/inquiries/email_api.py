"""Inbound email: replies to notices (and any mail to the office's inbound address) posted by
the mail provider, each format with its own credential.

- Mailgun-style: a parsed form post carrying ``timestamp``, ``token`` and ``signature``, the
  hex HMAC-SHA256 of timestamp + token under the webhook signing key. A stale timestamp is a
  replay and is refused; a token seen before lands on the entry it made (``source_ref``).
- SendGrid-style Inbound Parse: a multipart post to a URL carrying a password (HTTP basic
  auth), with the raw headers in ``headers``.

The sender's From address is only a claim. It is believed for nothing but finding the thread:
answers go to the registrant's proven address, never to where a message says it came from,
and nothing about a case goes to anyone else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from datetime import UTC, datetime
from email.parser import HeaderParser
from email.utils import parseaddr

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from voice.database import utcnow
from voice.deps import SessionDep, SettingsDep
from voice.inquiries import intake

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

_QUOTE_START = re.compile(
    r"^(On .{1,200} wrote:|El .{1,200} escribi[oó]:|-{2,} ?Original Message ?-{2,}|From: .+)$",
    re.I,
)


def reply_text(body: str) -> str:
    """The new part of a reply: up to the quoted notice, without '>' lines."""
    kept = []
    for line in body.splitlines():
        if _QUOTE_START.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    return "\n".join(kept).strip()


def mailgun_signature(key: str, timestamp: str, token: str) -> str:
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def _fresh(timestamp: str, max_age: int, now: datetime) -> bool:
    try:
        sent = datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return False
    return abs((now - sent).total_seconds()) <= max_age


def _headers(pairs: object) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(pairs, list):
        for pair in pairs:
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
                out.setdefault(pair[0].lower(), pair[1])
    return out


def _accept(
    session: SessionDep,
    settings: SettingsDep,
    sender: str,
    body: str,
    headers: dict[str, str],
    now: datetime,
) -> Response:
    address = parseaddr(sender)[1]
    text = reply_text(body)
    if "@" not in address or not text:
        # Nothing to act on; 406 tells Mailgun not to retry, and SendGrid ignores the code.
        return Response(status_code=406)
    inquiry = intake.from_email(
        session=session,
        settings=settings,
        sender=address,
        body=text,
        # In-Reply-To may list several ids; the notice answered is the first.
        in_reply_to=next(iter(headers.get("in-reply-to", "").split()), None),
        message_id=headers.get("message-id", ""),
        now=now,
    )
    log.info("inbound email joined inquiry %s", inquiry.id)
    return Response(status_code=204)


@router.post("/callbacks/email/inbound/mailgun", status_code=204)
async def mailgun_inbound(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    key = settings.mailgun_signing_key.get_secret_value() if settings.mailgun_signing_key else ""
    timestamp, token = fields.get("timestamp", ""), fields.get("token", "")
    given = fields.get("signature", "")
    now = utcnow()
    if not key or not hmac.compare_digest(
        mailgun_signature(key, timestamp, token).encode(), given.encode("ascii", "replace")
    ):
        log.warning("refused an unsigned or mis-signed inbound email")
        raise HTTPException(status_code=403, detail="invalid signature")
    if not _fresh(timestamp, settings.inbound_email_max_age_seconds, now):
        raise HTTPException(status_code=403, detail="stale or future timestamp")
    headers = _headers(_json(fields.get("message-headers", "")))
    # A replayed token within the window lands on the entry its first post made.
    headers.setdefault("message-id", "")
    headers["message-id"] = headers["message-id"] or f"mailgun-token:{token}"
    body = fields.get("stripped-text") or fields.get("body-plain", "")
    return _accept(session, settings, fields.get("from", ""), body, headers, now)


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _basic_password(request: Request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


@router.post("/callbacks/email/inbound/sendgrid", status_code=204)
async def sendgrid_inbound(
    request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    expected = (
        settings.sendgrid_inbound_token.get_secret_value()
        if settings.sendgrid_inbound_token
        else ""
    )
    if not expected or not hmac.compare_digest(
        _basic_password(request).encode(), expected.encode()
    ):
        log.warning("refused an inbound email without the parse token")
        raise HTTPException(status_code=403, detail="a valid token is required")
    form = await request.form()
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    parsed = HeaderParser().parsestr(fields.get("headers", ""))
    headers = {name.lower(): str(value) for name, value in parsed.items()}
    return _accept(
        session, settings, fields.get("from", ""), fields.get("text", ""), headers, utcnow()
    )
