"""Answers: written from reusable templates, filled with the case's disclosed facts, scanned.

Placeholders such as ``{custody_status}`` take their value from what ``disclosure.release``
releases to the victim-verified audience, never from the case row. A fact the filter withholds
cannot be filled, and the answer is refused rather than sent without it. Case facts go only to
the verified registrant of a verified link to the case (``service.eligible_link``).

Every answer passes the outbound scan (voice.messages.scan). A finding holds it for a
supervisor other than its author (voice.messages.gate); so does any answer to a sender who is
not a verified registrant, since nobody else can vouch that it says nothing about a case.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from voice.cases.models import Case
from voice.config import Settings
from voice.database import utcnow
from voice.disclosure.policy import Policy
from voice.disclosure.release import Audience, release
from voice.inquiries import delivery, service
from voice.inquiries.models import (
    AnswerTemplate,
    Inquiry,
    InquiryAnswer,
    InquiryChannel,
    InquiryStatus,
    ReferralProvider,
)
from voice.messages.gate import MessageStatus, ReviewError, check_review, ready_to_send
from voice.messages.scan import scan
from voice.notify import phrases
from voice.victims.models import Victim
from voice.web.i18n import long_date

log = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
UNVERIFIED_RECIPIENT = "unverified_recipient"


def _phrase(table: dict[str, str]) -> Callable[[str, str], str]:
    return lambda value, language: phrases.phrase(table, value, language, default=value)


def _as_is(value: str, language: str) -> str:
    return value


def _day(value: str, language: str) -> str:
    try:
        return long_date(datetime.fromisoformat(value), language, None)
    except ValueError:
        return value[:10]


# Placeholder -> (the disclosed field it needs, how it reads in the answer's language).
CASE_PLACEHOLDERS: dict[str, tuple[str, Callable[[str, str], str]]] = {
    "case_number": ("case.case_number", _as_is),
    "custody_status": ("case.custody_status", _phrase(phrases.CUSTODY)),
    "release_type": ("case.release_type", _phrase(phrases.RELEASE_TYPES)),
    "facility": ("case.facility_name", _as_is),
    "facility_city": ("case.facility_city", _as_is),
    "facility_state": ("case.facility_state", _as_is),
    "proceedings_stage": ("case.proceedings_stage", _phrase(phrases.PROCEEDINGS_STAGES)),
    "hearing_date": ("case.hearing_at", _day),
    "hearing_court": ("case.hearing_court", _as_is),
    "removed_to_country": ("case.removed_to_country", _as_is),
}
OTHER_PLACEHOLDERS = ("office_contact", "referral_name", "referral_phone")


class AnswerError(ValueError):
    """An answer that cannot be written: a fact not disclosable, an unknown placeholder."""


def placeholders(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)


def template_for(*, session: Session, key: str, language: str) -> AnswerTemplate:
    found = session.exec(
        select(AnswerTemplate).where(
            AnswerTemplate.key == key,
            AnswerTemplate.language == language,
            AnswerTemplate.active == True,  # noqa: E712  (SQL, not Python truth)
        )
    ).first()
    if found is None:
        raise AnswerError(f"no active template {key!r} in {language!r}")
    return found


def fill(
    *,
    session: Session,
    settings: Settings,
    policy: Policy,
    inquiry: Inquiry,
    text: str,
    language: str,
    referral: ReferralProvider | None = None,
) -> tuple[str, list[str], str]:
    """The text with its placeholders filled, the disclosed fields it now carries, and the text
    for the outbound scan: the office's own contact and the directory's referral stand there
    as tokens, since they are the office's words, not anyone's personal data."""
    names = placeholders(text)
    unknown = sorted(set(names) - set(CASE_PLACEHOLDERS) - set(OTHER_PLACEHOLDERS))
    if unknown:
        raise AnswerError(f"unknown placeholders: {', '.join(unknown)}")
    values: dict[str, str] = {"office_contact": settings.office_contact}
    if referral is not None:
        values.update(referral_name=referral.name, referral_phone=referral.phone)
    elif {"referral_name", "referral_phone"} & set(names):
        raise AnswerError("choose a referral provider for the referral placeholders")
    used: list[str] = []
    if set(names) & set(CASE_PLACEHOLDERS):
        if service.eligible_link(session, inquiry) is None:
            raise AnswerError(
                "case facts go only to a verified registrant of a case linked to the inquiry"
            )
        assert inquiry.case_id is not None
        case = session.get_one(Case, inquiry.case_id)
        # The one door: what the victim-verified audience may be told of the case, now.
        view = release(session=session, policy=policy, audience=Audience.VICTIM_VERIFIED, case=case)
        released: Mapping[str, Any] = view.released
        for name in sorted(set(names) & set(CASE_PLACEHOLDERS)):
            field, phrase = CASE_PLACEHOLDERS[name]
            if field not in released:
                raise AnswerError(f"the case's {name} cannot be disclosed to the victim")
            values[name] = phrase(str(released[field]), language)
            used.append(field)
    filled = _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
    for_scan = _PLACEHOLDER.sub(
        lambda m: f"[{m.group(1)}]" if m.group(1) in OTHER_PLACEHOLDERS else values[m.group(1)],
        text,
    )
    return filled, sorted(used), for_scan


def answer_channel(session: Session, inquiry: Inquiry) -> str:
    """Where the answer goes: back on the channel it came by; a call is answered by text or
    email to what the caller gave, or the registrant's proven contact point."""
    if inquiry.channel != InquiryChannel.PHONE:
        return inquiry.channel
    if inquiry.victim_id is not None:
        victim = session.get_one(Victim, inquiry.victim_id)
        if victim.email and victim.email_verified:
            return InquiryChannel.EMAIL.value
        if victim.phone and victim.phone_verified:
            return InquiryChannel.SMS.value
        raise AnswerError("the registrant has no proven contact point: answer by phone")
    if inquiry.sender_address:
        return (InquiryChannel.EMAIL if "@" in inquiry.sender_address else InquiryChannel.SMS).value
    raise AnswerError("the caller left no number or address: answer by phone")


def submit(
    *,
    session: Session,
    settings: Settings,
    policy: Policy,
    inquiry: Inquiry,
    author: str,
    body: str | None = None,
    template_key: str | None = None,
    language: str | None = None,
    referral: ReferralProvider | None = None,
    awaits_victim: bool = False,
    now: datetime | None = None,
) -> InquiryAnswer:
    now = now or utcnow()
    if inquiry.status not in (InquiryStatus.ASSIGNED, InquiryStatus.AWAITING_VICTIM):
        raise service.InquiryError("assign the inquiry before answering it")
    language = language or inquiry.language
    if body is None:
        if template_key is None:
            raise AnswerError("write an answer or choose a template")
        body = template_for(session=session, key=template_key, language=language).body
    if not body.strip() or not author.strip():
        raise AnswerError("an answer needs text and an author")
    text, fields, for_scan = fill(
        session=session,
        settings=settings,
        policy=policy,
        inquiry=inquiry,
        text=body,
        language=language,
        referral=referral,
    )
    findings = [f.as_dict() for f in scan(for_scan, now=now)]
    if inquiry.victim_id is None:
        findings.append({"kind": UNVERIFIED_RECIPIENT, "start": 0, "end": 0})
    assert inquiry.id is not None
    answer = InquiryAnswer(
        inquiry_id=inquiry.id,
        case_id=inquiry.case_id if fields else None,
        body=text,
        language=language,
        template_key=template_key,
        fields_released=fields,
        awaits_victim=awaits_victim,
        author=author.strip(),
        status=MessageStatus.HELD if findings else MessageStatus.READY,
        findings=findings,
        channel=answer_channel(session, inquiry),
        created_at=now,
        next_attempt_at=now,
    )
    session.add(answer)
    session.flush()
    log.info(
        "answer %s to inquiry %s %s (%s)",
        answer.id,
        inquiry.id,
        answer.status,
        ",".join(sorted({str(f["kind"]) for f in findings})) or "no findings",
    )
    if answer.status == MessageStatus.READY and answer.channel == InquiryChannel.WEB:
        publish(session=session, policy=policy, answer=answer, now=now)
    return answer


def review(
    *,
    session: Session,
    policy: Policy,
    answer_id: int,
    supervisor: str,
    approve: bool,
    note: str = "",
    now: datetime | None = None,
) -> InquiryAnswer:
    now = now or utcnow()
    answer = session.get(InquiryAnswer, answer_id)
    if answer is None:
        raise LookupError(f"no answer {answer_id}")
    check_review(answer, supervisor)
    answer.status = MessageStatus.APPROVED if approve else MessageStatus.REJECTED
    answer.reviewed_by, answer.reviewed_at, answer.review_note = supervisor.strip(), now, note
    answer.next_attempt_at = now
    session.add(answer)
    session.flush()
    log.info("answer %s %s by a supervisor", answer.id, answer.status)
    if approve and answer.channel == InquiryChannel.WEB:
        publish(session=session, policy=policy, answer=answer, now=now)
    return answer


def publish(*, session: Session, policy: Policy, answer: InquiryAnswer, now: datetime) -> None:
    """A web answer is delivered by showing it in the victim's self-service view."""
    if not ready_to_send(answer):
        raise ReviewError("the answer has not passed the outbound scan")
    inquiry = session.get_one(Inquiry, answer.inquiry_id)
    if answer.fields_released and service.eligible_link(session, inquiry) is None:
        answer.status, answer.last_error = MessageStatus.FAILED, "recipient no longer eligible"
        session.add(answer)
        return
    answer.status, answer.sent_at = MessageStatus.SENT, now
    session.add(answer)
    delivery.delivered(session=session, policy=policy, answer=answer, channel="web", now=now)
