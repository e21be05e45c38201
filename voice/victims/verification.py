"""Proving that a registrant's email address and phone number reach them.

A new or changed email address gets a single-use confirmation link; a new or changed phone
number gets a six-digit code, typed on the self-service API or texted back. A liaison may
instead attest a contact point after speaking to the victim. Every proof is recorded (who,
when, how), and only a proven contact point receives notices or sign-in links.

Secrets are stored as keyed hashes only. Expiry is decided against the ``now`` the caller
passes, so routes and tests control the clock. Sending is not done here: a ``Courier`` given by
the composition root delivers each ``Challenge`` after the request's transaction commits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import Session, col, select

from voice.config import Settings
from voice.pii import keyring
from voice.victims.models import Victim
from voice.victims.verification_models import (
    ContactChallenge,
    ContactKind,
    ContactProof,
    ProofMethod,
)

LINK_PREFIX = "vcl_"
VICTIM_ACTOR = "victim"


@dataclass(frozen=True)
class Challenge:
    """What to send: the link's token or the code, to one contact point, in one language."""

    challenge_id: int
    victim_id: int
    kind: ContactKind
    to: str
    secret: str
    language: str
    expires_at: datetime


class Courier(Protocol):
    def deliver(self, challenge: Challenge) -> None:
        """Send the confirmation link or code; failures are logged, never raised."""
        ...


class VerificationRefused(Exception):
    """``reason``: ``invalid`` (unknown, spent or wrong), ``expired``, or ``no_contact``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _address(victim: Victim, kind: ContactKind) -> tuple[str | None, str | None, bool]:
    if kind is ContactKind.EMAIL:
        return victim.email, victim.email_bidx, victim.email_verified
    return victim.phone, victim.phone_bidx, victim.phone_verified


def _link_hash(token: str) -> str:
    return keyring.active().blind_index(token, kind="contact.link")


def _code_hash(challenge_id: int, code: str) -> str:
    # Bound to the challenge: a code is only six digits, so its hash must not be comparable
    # across challenges, and only the keyed HMAC (never a bare digest) is stored.
    return keyring.active().blind_index(f"{challenge_id}:{code.strip()}", kind="contact.code")


def _close_open(session: Session, victim_id: int, kind: ContactKind, now: datetime) -> None:
    for old in session.exec(
        select(ContactChallenge).where(
            ContactChallenge.victim_id == victim_id,
            ContactChallenge.kind == kind.value,
            col(ContactChallenge.closed_at).is_(None),
        )
    ).all():
        old.closed_at = now
        session.add(old)


def start(
    *, session: Session, settings: Settings, victim: Victim, kind: ContactKind, now: datetime
) -> Challenge | None:
    """Open a new challenge for the victim's current contact point of ``kind``, replacing any
    earlier one; None when there is nothing to prove (no such contact point, or proven)."""
    address, _, verified = _address(victim, kind)
    if address is None or verified or not victim.active:
        return None
    session.flush()  # the blind index is computed on flush
    bidx = _address(victim, kind)[1]
    assert victim.id is not None
    assert bidx is not None
    _close_open(session, victim.id, kind, now)
    if kind is ContactKind.EMAIL:
        secret = LINK_PREFIX + secrets.token_urlsafe(32)
        expires = now + timedelta(hours=settings.contact_link_hours)
    else:
        secret = f"{secrets.randbelow(10**6):06d}"
        expires = now + timedelta(minutes=settings.contact_code_minutes)
    row = ContactChallenge(
        victim_id=victim.id,
        kind=kind.value,
        address_bidx=bidx,
        secret_hash="",
        expires_at=expires,
        created_at=now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    row.secret_hash = (
        _link_hash(secret) if kind is ContactKind.EMAIL else _code_hash(row.id, secret)
    )
    session.add(row)
    session.flush()
    return Challenge(
        challenge_id=row.id,
        victim_id=victim.id,
        kind=kind,
        to=address,
        secret=secret,
        language=victim.preferred_language,
        expires_at=expires,
    )


def _prove(
    session: Session,
    victim: Victim,
    kind: ContactKind,
    *,
    method: ProofMethod,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> ContactProof:
    address, bidx, _ = _address(victim, kind)
    if address is None or bidx is None:
        raise VerificationRefused("no_contact")
    if kind is ContactKind.EMAIL:
        victim.email_verified = True
    else:
        victim.phone_verified = True
    session.add(victim)
    assert victim.id is not None
    _close_open(session, victim.id, kind, now)
    proof = ContactProof(
        victim_id=victim.id,
        kind=kind.value,
        address_bidx=bidx,
        method=method.value,
        actor=actor,
        note=note,
        proven_at=now,
    )
    session.add(proof)
    session.flush()
    return proof


def _still_current(challenge: ContactChallenge, victim: Victim | None) -> bool:
    if victim is None or not victim.active:
        return False
    return _address(victim, ContactKind(challenge.kind))[1] == challenge.address_bidx


def confirm_link(*, session: Session, token: str, now: datetime) -> Victim:
    """Spend an emailed confirmation link: the victim's email address is proven."""
    challenge = session.exec(
        select(ContactChallenge).where(
            ContactChallenge.secret_hash == _link_hash(token),
            ContactChallenge.kind == ContactKind.EMAIL.value,
        )
    ).first()
    if challenge is None or challenge.closed_at is not None:
        raise VerificationRefused("invalid")
    victim = session.get(Victim, challenge.victim_id)
    if not _still_current(challenge, victim):
        raise VerificationRefused("invalid")
    assert victim is not None
    if now >= challenge.expires_at:
        raise VerificationRefused("expired")
    _prove(
        session,
        victim,
        ContactKind.EMAIL,
        method=ProofMethod.EMAIL_LINK,
        actor=VICTIM_ACTOR,
        now=now,
    )
    return victim


def link_language(*, session: Session, token: str) -> str:
    """The language of the victim an emailed link was sent to, without spending it."""
    challenge = session.exec(
        select(ContactChallenge).where(ContactChallenge.secret_hash == _link_hash(token))
    ).first()
    victim = session.get(Victim, challenge.victim_id) if challenge else None
    return victim.preferred_language if victim else "en"


def _try_code(
    session: Session,
    settings: Settings,
    challenge: ContactChallenge,
    code: str,
    now: datetime,
) -> bool:
    """Check one code against one open challenge; a wrong one counts, and the last allowed
    wrong one spends the challenge."""
    assert challenge.id is not None
    if now >= challenge.expires_at:
        return False
    if secrets.compare_digest(challenge.secret_hash, _code_hash(challenge.id, code)):
        return True
    challenge.attempts += 1
    if challenge.attempts >= settings.contact_code_max_attempts:
        challenge.closed_at = now
    session.add(challenge)
    session.flush()
    return False


def _open_phone_challenges(session: Session, victim_ids: list[int]) -> list[ContactChallenge]:
    return list(
        session.exec(
            select(ContactChallenge)
            .where(
                col(ContactChallenge.victim_id).in_(victim_ids),
                ContactChallenge.kind == ContactKind.PHONE.value,
                col(ContactChallenge.closed_at).is_(None),
            )
            .order_by(col(ContactChallenge.id).desc())
        ).all()
    )


def confirm_code(
    *,
    session: Session,
    settings: Settings,
    victim: Victim,
    code: str,
    now: datetime,
    method: ProofMethod = ProofMethod.SMS_CODE,
) -> Victim:
    """Prove the victim's phone number with the texted code. A wrong code counts against the
    challenge even though this raises: callers answer the refusal so the count commits."""
    assert victim.id is not None
    for challenge in _open_phone_challenges(session, [victim.id]):
        if not _still_current(challenge, victim):
            continue
        if _try_code(session, settings, challenge, code, now):
            _prove(session, victim, ContactKind.PHONE, method=method, actor=VICTIM_ACTOR, now=now)
            return victim
        if now >= challenge.expires_at:
            raise VerificationRefused("expired")
        raise VerificationRefused("invalid")
    raise VerificationRefused("invalid")


def confirm_code_by_reply(
    *, session: Session, settings: Settings, victims: list[Victim], code: str, now: datetime
) -> Victim | None:
    """A code texted back from a number: it proves that number for the registrant it was sent
    to. Returns that registrant, or None (a wrong code still counts against the challenge)."""
    for victim in victims:
        try:
            return confirm_code(
                session=session,
                settings=settings,
                victim=victim,
                code=code,
                now=now,
                method=ProofMethod.SMS_REPLY,
            )
        except VerificationRefused:
            continue
    return None


def attest(
    *,
    session: Session,
    victim: Victim,
    kind: ContactKind,
    actor: str,
    note: str,
    now: datetime,
) -> ContactProof:
    """A liaison confirms a contact point, e.g. after calling the victim on it."""
    return _prove(
        session, victim, kind, method=ProofMethod.STAFF_ATTESTATION, actor=actor, note=note, now=now
    )


def proofs(*, session: Session, victim_id: int) -> list[ContactProof]:
    return list(
        session.exec(
            select(ContactProof)
            .where(ContactProof.victim_id == victim_id)
            .order_by(col(ContactProof.id))
        ).all()
    )


def unproven(victim: Victim) -> list[ContactKind]:
    """The victim's contact points that are set but not proven."""
    return [
        k for k in ContactKind if _address(victim, k)[0] is not None and not _address(victim, k)[2]
    ]


def latest_challenge_at(*, session: Session, victim: Victim, kind: ContactKind) -> datetime | None:
    """When a challenge was last sent to the victim's current contact point of ``kind``."""
    bidx = _address(victim, kind)[1]
    return session.exec(
        select(ContactChallenge.created_at)
        .where(
            ContactChallenge.victim_id == victim.id,
            ContactChallenge.kind == kind.value,
            ContactChallenge.address_bidx == (bidx or ""),
        )
        .order_by(col(ContactChallenge.created_at).desc())
    ).first()


def code_sent_before(*, session: Session, victim: Victim) -> bool:
    """Whether any code was ever texted to the victim's current phone number, used or not:
    only then is a code sent now a *new* one that replaces it."""
    if victim.id is None or victim.phone is None:
        return False
    bidx = _address(victim, ContactKind.PHONE)[1]
    return (
        session.exec(
            select(ContactChallenge.id).where(
                ContactChallenge.victim_id == victim.id,
                ContactChallenge.kind == ContactKind.PHONE.value,
                ContactChallenge.address_bidx == bidx,
            )
        ).first()
        is not None
    )


def code_waiting(*, session: Session, victim: Victim, now: datetime) -> bool:
    """Whether a texted code for the victim's current phone number can still be used: sent,
    not yet spent, replaced or out of attempts, and not expired."""
    if victim.id is None:
        return False
    return any(
        _still_current(challenge, victim) and now < challenge.expires_at
        for challenge in _open_phone_challenges(session, [victim.id])
    )
