"""Inquiries arrive from every channel: the self-service form, free-text SMS, replies to notice
emails, and staff logging a phone call.

A sender is a *verified registrant* only when the contact point it wrote from is one a
registrant proved (or the registrant signed in, or staff identified them on the call). Anyone
else gets an inquiry of their own, known by its address alone, with no case attached: nothing
about any case can be disclosed through it. A later message from the same sender on the same
channel joins their open inquiry instead of opening another.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sqlmodel import Session, col, select

from voice.config import Settings
from voice.database import utcnow
from voice.inquiries import service
from voice.inquiries.models import Category, Inquiry, InquiryChannel
from voice.notify import contacts
from voice.notify.callbacks.receipts import notification_id_from_reference
from voice.notify.models import Channel, Notification
from voice.pii import keyring
from voice.victims.models import Victim, VictimCaseLink

MAX_BODY = 10_000
_MAX_ID = 2_147_483_647  # a reference past PostgreSQL's integer names no notice of ours

# A first guess at the category of free text, for the queue's order until staff triage it.
# Safety words come first: a false alarm costs a look, a missed one costs far more.
_GUESSES: tuple[tuple[Category, re.Pattern[str]], ...] = tuple(
    (category, re.compile(pattern, re.I))
    for category, pattern in (
        (
            Category.SAFETY_CONCERN,
            r"\b(threat\w*|afraid|scared|danger\w*|kill\w*|hurt\w*|stalk\w*|harass\w*|"
            r"amenaz\w*|miedo|peligro\w*|matar\w*|acos\w*)\b",
        ),
        (Category.HEARING, r"\b(hearing|court|judge|audiencia|corte|juez)\b"),
        (Category.REMOVAL, r"\b(deport\w*|remov\w*|expuls\w*)\b"),
        (
            Category.CUSTODY_OR_RELEASE,
            r"\b(releas\w*|bond|custody|jail|liber\w*|custodia|fianza)\b",
        ),
        (Category.REGISTRATION_HELP, r"\b(register\w*|registr\w*|sign.?in|pin|password)\b"),
        (Category.VICTIM_SERVICES, r"\b(counsel\w*|shelter|advocate|services?|servicios?|ayuda)\b"),
    )
)


def guess_category(body: str) -> Category:
    for category, pattern in _GUESSES:
        if pattern.search(body):
            return category
    return Category.CASE_STATUS


def _clip(body: str) -> str:
    return body.strip()[:MAX_BODY]


def _open_for_sender(
    session: Session, channel: InquiryChannel, victim: Victim | None, bidx: str
) -> Inquiry | None:
    query = select(Inquiry).where(
        Inquiry.channel == channel.value, col(Inquiry.status).in_(service.OPEN)
    )
    if victim is not None:
        query = query.where(Inquiry.victim_id == victim.id)
    else:
        query = query.where(col(Inquiry.victim_id).is_(None), Inquiry.sender_bidx == bidx)
    return session.exec(query.order_by(col(Inquiry.id).desc())).first()


def _only_case(session: Session, victim: Victim) -> int | None:
    assert victim.id is not None
    links = service.verified_links(session, victim.id)
    return links[0].case_id if len(links) == 1 else None


def _registrant(session: Session, channel: Channel, address: str) -> Victim | None:
    """The one active registrant who proved this contact point and has a verified link."""
    found = [
        v
        for v in session.exec(
            select(Victim).where(contacts.matches(channel, address)).order_by(col(Victim.id))
        ).all()
        if v.active
        and (v.phone_verified if channel is Channel.SMS else v.email_verified)
        and v.id is not None
        and service.verified_links(session, v.id)
    ]
    # Two registrants sharing a number cannot be told apart: neither is assumed.
    return found[0] if len(found) == 1 else None


def _from_contact_point(
    *,
    session: Session,
    settings: Settings,
    channel: InquiryChannel,
    address: str,
    body: str,
    now: datetime,
    case_hint: int | None = None,
    source_ref: str | None = None,
) -> Inquiry:
    repeated = service.already_received(session=session, source_ref=source_ref)
    if repeated is not None:
        return repeated
    kind = Channel.SMS if channel is InquiryChannel.SMS else Channel.EMAIL
    address = contacts.normalise(kind, address)
    bidx = keyring.active().blind_index(
        address, kind=kind.value if kind is Channel.EMAIL else "phone"
    )
    victim = _registrant(session, kind, address)
    existing = _open_for_sender(session, channel, victim, bidx)
    if existing is not None:
        service.follow_up(
            session=session, inquiry=existing, body=_clip(body), now=now, source_ref=source_ref
        )
        return existing
    case_id = None
    if victim is not None:
        assert victim.id is not None
        cases = {link.case_id for link in service.verified_links(session, victim.id)}
        case_id = case_hint if case_hint in cases else _only_case(session, victim)
    return service.open_inquiry(
        session=session,
        settings=settings,
        channel=channel,
        body=_clip(body),
        category=guess_category(body),
        victim=victim,
        case_id=case_id,
        sender_address=address,
        sender_bidx=bidx,
        source_ref=source_ref,
        now=now,
    )


def provider_ref(provider: str, message_id: str) -> str | None:
    """A provider's message id, hashed (ids can embed an address) and namespaced."""
    if not message_id.strip():
        return None
    digest = hashlib.sha256(message_id.strip().encode("utf-8")).hexdigest()
    return f"{provider}:{digest}"[:80]


def from_sms(
    *,
    session: Session,
    settings: Settings,
    sender: str,
    body: str,
    message_sid: str = "",
    now: datetime | None = None,
) -> Inquiry:
    """A free-text SMS (not a keyword): its sender's open inquiry, or a new one."""
    return _from_contact_point(
        session=session,
        settings=settings,
        channel=InquiryChannel.SMS,
        address=sender,
        body=body,
        now=now or utcnow(),
        source_ref=provider_ref("sms", message_sid),
    )


def from_email(
    *,
    session: Session,
    settings: Settings,
    sender: str,
    body: str,
    in_reply_to: str | None = None,
    message_id: str = "",
    now: datetime | None = None,
) -> Inquiry:
    """A reply to a notice email, or any mail to the office's inbound address.

    ``In-Reply-To`` names the notice answered; it only picks which of the sender's own cases
    the inquiry is about, and only when the sender is that notice's verified registrant.
    """
    case_hint = None
    notification_id = notification_id_from_reference(in_reply_to or "")
    if notification_id is not None and notification_id <= _MAX_ID:
        notice = session.get(Notification, notification_id)
        link = session.get(VictimCaseLink, notice.link_id) if notice else None
        case_hint = link.case_id if link else None
    return _from_contact_point(
        session=session,
        settings=settings,
        channel=InquiryChannel.EMAIL,
        address=sender,
        body=body,
        now=now or utcnow(),
        case_hint=case_hint,
        source_ref=provider_ref("email", message_id),
    )


def submit_from_victim(
    *,
    session: Session,
    settings: Settings,
    victim_id: int,
    body: str,
    category: Category | str | None = None,
    case_id: int | None = None,
    now: datetime | None = None,
) -> Inquiry:
    """A signed-in victim's question from the self-service form (page or API)."""
    victim = session.get(Victim, victim_id)
    if victim is None or not victim.active:
        raise service.InquiryError("no such registrant")
    cases = {link.case_id for link in service.verified_links(session, victim_id)}
    if case_id is not None and case_id not in cases:
        raise service.InquiryError("that case is not one of yours")
    if case_id is None and len(cases) == 1:
        case_id = next(iter(cases))
    chosen = Category(category) if category else guess_category(body)
    return service.open_inquiry(
        session=session,
        settings=settings,
        channel=InquiryChannel.WEB,
        body=_clip(body),
        category=chosen,
        # Signed in, so known; with no verified link, no case is attached and none disclosed.
        victim=victim,
        case_id=case_id,
        language=victim.preferred_language,
        now=now,
    )


def log_call(
    *,
    session: Session,
    settings: Settings,
    staff: str,
    summary: str,
    category: Category,
    victim_id: int | None = None,
    case_id: int | None = None,
    caller_phone: str | None = None,
    caller_email: str | None = None,
    caller_name: str | None = None,
    language: str = "en",
    now: datetime | None = None,
) -> Inquiry:
    """A phone call staff took; ``victim_id`` only when staff identified a registrant.

    An unregistered caller's name, when they gave one, heads the thread's first entry: it is
    what staff ask for when they call back, and it is encrypted with the rest of the entry.
    """
    victim = session.get(Victim, victim_id) if victim_id is not None else None
    if victim_id is not None and (victim is None or not victim.active):
        raise service.InquiryError("no such registrant")
    if victim is not None:
        assert victim.id is not None
        cases = {link.case_id for link in service.verified_links(session, victim.id)}
        if case_id is not None and case_id not in cases:
            raise service.InquiryError("the registrant has no verified link to that case")
        if not cases:
            victim = None
    elif case_id is not None:
        raise service.InquiryError("only an identified registrant's call is linked to a case")
    address, bidx = None, None
    if victim is None and (caller_phone or caller_email):
        kind = Channel.SMS if caller_phone else Channel.EMAIL
        address = contacts.normalise(kind, caller_phone or caller_email or "")
        bidx = keyring.active().blind_index(address, kind="phone" if caller_phone else "email")
    body = summary.strip()
    if victim is None and caller_name and caller_name.strip() and body:
        body = f"Caller {caller_name.strip()[:200]}: {body}"
    return service.open_inquiry(
        session=session,
        settings=settings,
        channel=InquiryChannel.PHONE,
        body=_clip(body),
        category=category,
        victim=victim,
        case_id=case_id if victim is not None else None,
        sender_address=address,
        sender_bidx=bidx,
        language=language,
        author=staff,
        now=now,
    )
