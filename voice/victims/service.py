"""Registering victims and linking them to cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from voice.auth import credentials
from voice.cases.models import Case
from voice.database import utcnow
from voice.pii import keyring
from voice.victims.models import (
    Language,
    Relationship,
    VerificationStatus,
    Victim,
    VictimCaseLink,
)


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
    pin: str | None = None,
    victim_code: str | None = None,
    consented_at: datetime | None = None,
) -> tuple[Victim, str]:
    """Create a registrant with a Victim ID; return it with its PIN, shown only this once."""
    pin = pin or credentials.new_pin()
    victim = Victim(
        first_name=first_name,
        last_name=last_name,
        preferred_language=language,
        email=email,
        email_verified=email_verified,
        phone=phone,
        phone_verified=phone_verified,
        victim_code=victim_code or credentials.new_victim_code(),
        pin_hash=credentials.hash_pin(pin),
        consented_at=consented_at,
    )
    session.add(victim)
    session.flush()
    return victim, pin


def reset_pin(*, session: Session, victim: Victim) -> str:
    pin = credentials.new_pin()
    victim.pin_hash = credentials.hash_pin(pin)
    session.add(victim)
    session.flush()
    return pin


def find_by_code(*, session: Session, victim_code: str) -> Victim | None:
    code = credentials.normalise_victim_code(victim_code)
    return session.exec(select(Victim).where(Victim.victim_code == code)).first()


def find_by_email(*, session: Session, email: str) -> list[Victim]:
    """Exact match through the blind index: the encrypted column itself cannot be searched."""
    index = keyring.active().blind_index(email, kind="email")
    return list(session.exec(select(Victim).where(Victim.email_bidx == index)).all())


def find_by_phone(*, session: Session, phone: str) -> list[Victim]:
    index = keyring.active().blind_index(phone, kind="phone")
    return list(session.exec(select(Victim).where(Victim.phone_bidx == index)).all())


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


class VictimUpdateError(ValueError):
    """A change a registrant's record cannot take."""


def update_victim(*, session: Session, victim: Victim, changes: dict[str, Any]) -> Victim:
    """Apply ``changes``; ``None`` clears a contact point, but a name or language cannot be
    cleared. A changed contact point must be proven again."""
    cleared = sorted(
        n
        for n in ("first_name", "last_name", "preferred_language")
        if n in changes and changes[n] is None
    )
    if cleared:
        raise VictimUpdateError(f"cannot be cleared: {', '.join(cleared)}")
    if "email" in changes and changes["email"] != victim.email:
        victim.email_verified = False
    if "phone" in changes and changes["phone"] != victim.phone:
        victim.phone_verified = False
    for name, value in changes.items():
        setattr(victim, name, str(value) if name == "email" and value else value)
    session.add(victim)
    session.flush()
    return victim


def verify_identity(*, session: Session, victim: Victim) -> Victim:
    victim.verified_at = victim.verified_at or utcnow()
    session.add(victim)
    session.flush()
    return victim


def deactivate(*, session: Session, victim: Victim) -> Victim:
    victim.active = False  # stops sign-in, sessions and notifications at once
    session.add(victim)
    session.flush()
    return victim


def update_link(
    *, session: Session, link: VictimCaseLink, changes: dict[str, Any]
) -> VictimCaseLink:
    for name, value in changes.items():
        setattr(link, name, value)
    session.add(link)
    session.flush()
    return link


def verify_link(*, session: Session, link: VictimCaseLink) -> VictimCaseLink:
    if link.verification_status != VerificationStatus.VERIFIED:
        link.verification_status = VerificationStatus.VERIFIED
        link.verified_at = utcnow()
        session.add(link)
        session.flush()
    return link
