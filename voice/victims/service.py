"""Registering victims and linking them to cases."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session

from voice.cases.models import Case
from voice.database import utcnow
from voice.victims.models import (
    Language,
    Relationship,
    VerificationStatus,
    Victim,
    VictimCaseLink,
)


def hash_token(token: str) -> str:
    """Tokens are high-entropy, so a plain sha256 suffices for an indexed lookup."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_self_service_token() -> str:
    return "vst_" + secrets.token_urlsafe(24)


def register_victim(
    *,
    session: Session,
    first_name: str,
    last_name: str,
    language: Language = Language.ENGLISH,
    email: str | None = None,
    email_verified: bool = False,
    phone: str | None = None,
    phone_verified: bool = False,
    token: str | None = None,
) -> tuple[Victim, str]:
    """Create a registrant and return it with its self-service token, shown only this once."""
    token = token or issue_self_service_token()
    victim = Victim(
        first_name=first_name,
        last_name=last_name,
        preferred_language=language,
        email=email,
        email_verified=email_verified,
        phone=phone,
        phone_verified=phone_verified,
        self_service_token_hash=hash_token(token),
    )
    session.add(victim)
    session.flush()
    return victim, token


def link_victim(
    *,
    session: Session,
    victim: Victim,
    case: Case,
    relationship: Relationship = Relationship.VICTIM,
    verified: bool = False,
    notify_email: bool = True,
    notify_sms: bool = False,
) -> VictimCaseLink:
    link = VictimCaseLink(
        victim_id=victim.id,  # type: ignore[arg-type]
        case_id=case.id,  # type: ignore[arg-type]
        relationship=relationship,
        verification_status=VerificationStatus.VERIFIED if verified else VerificationStatus.PENDING,
        notify_email=notify_email,
        notify_sms=notify_sms,
        verified_at=utcnow() if verified else None,
    )
    session.add(link)
    session.flush()
    return link
