"""Victim self-service sign-in: Victim ID + PIN, or a one-time link sent by email.

Every answer is the same whether the Victim ID exists or not, and so is the work: the PIN is
checked against a dummy hash for an unknown ID, and failures are counted per Victim ID *as
typed*. Failures are also counted per client address. Too many for one Victim ID lock it for a
while; too many from one address refuse that address for the rest of the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from voice.auth import credentials, victim_sessions
from voice.auth.models import SignInLink, SignInThrottle, VictimSession
from voice.config import Settings
from voice.database import utcnow
from voice.pii import keyring
from voice.victims import service as victim_service
from voice.victims.models import Victim

LINK_PREFIX = "vsl_"


class SignInRefused(Exception):
    """``reason`` is ``credentials`` (wrong, unknown or locked: one answer) or ``address``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IssuedSession:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class LinkRequest:
    """What to send, if anything. ``email`` is None for an unknown or unreachable victim."""

    token: str
    email: str | None
    language: str


def _key(kind: str, value: str) -> str:
    # Keyed, so the table of counters does not list the Victim IDs or addresses that were tried.
    return keyring.active().blind_index(value, kind=f"throttle.{kind}")


def _counter(session: Session, key: str, now: datetime, window: timedelta) -> SignInThrottle:
    row = session.get(SignInThrottle, key, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():
                row = SignInThrottle(key=key, window_started_at=now)
                session.add(row)
        except IntegrityError:  # created by a concurrent request: use theirs
            row = session.get_one(SignInThrottle, key, with_for_update=True)
    if now - row.window_started_at > window and not _locked(row, now):
        row.failures = 0
        row.window_started_at = now
    return row


def _locked(row: SignInThrottle, now: datetime) -> bool:
    return row.locked_until is not None and row.locked_until > now


def _fail(session: Session, rows: list[SignInThrottle], limit: int, lockout: timedelta) -> None:
    now = utcnow()
    identity, *others = rows
    identity.failures += 1
    # A lockout runs its course: attempts during it neither end it nor make it longer.
    if identity.failures >= limit and not _locked(identity, now):
        identity.locked_until = now + lockout
    for row in others:
        row.failures += 1
    for row in rows:
        session.add(row)
    session.flush()


def sign_in_with_pin(
    *, session: Session, victim_code: str, pin: str, address: str, settings: Settings
) -> IssuedSession:
    now = utcnow()
    window = timedelta(seconds=settings.throttle_window_seconds)
    by_address = _counter(session, _key("address", address), now, window)
    if by_address.failures >= settings.address_max_failures:
        raise SignInRefused("address")
    code = credentials.normalise_victim_code(victim_code)
    by_identity = _counter(session, _key("victim", code), now, window)
    if _locked(by_identity, now):
        # Locked: no PIN is checked at all, so a correct guess during the lockout is worthless.
        _fail(session, [by_identity, by_address], settings.victim_max_failures, timedelta(0))
        raise SignInRefused("credentials")
    victim = victim_service.find_by_code(session=session, victim_code=code)
    usable = victim is not None and victim.active
    matches = credentials.verify_pin(victim.pin_hash if usable and victim else None, pin)
    if not (usable and matches) or victim is None:
        _fail(
            session,
            [by_identity, by_address],
            settings.victim_max_failures,
            timedelta(seconds=settings.victim_lockout_seconds),
        )
        raise SignInRefused("credentials")
    by_identity.failures = 0
    by_identity.locked_until = None
    session.add(by_identity)
    return create_session(session=session, victim=victim, settings=settings)


def create_session(*, session: Session, victim: Victim, settings: Settings) -> IssuedSession:
    assert victim.id is not None
    token, expires_at = victim_sessions.issue(
        session=session, victim_id=victim.id, minutes=settings.victim_session_minutes
    )
    return IssuedSession(token=token, expires_at=expires_at)


def victim_for_session(*, session: Session, token: str) -> Victim | None:
    row = session.exec(
        select(VictimSession, Victim)
        .join(Victim, col(Victim.id) == col(VictimSession.victim_id))
        .where(VictimSession.token_hash == credentials.hash_token(token))
    ).first()
    if row is None:
        return None
    signed_in, victim = row
    if signed_in.revoked_at is not None or signed_in.expires_at <= utcnow() or not victim.active:
        return None
    return victim


sign_out = victim_sessions.sign_out


def request_link(
    *, session: Session, victim_code: str, address: str, settings: Settings
) -> LinkRequest:
    """Write a one-time link for the Victim ID, whether or not it exists; say where to send it."""
    now = utcnow()
    window = timedelta(seconds=settings.throttle_window_seconds)
    by_address = _counter(session, _key("address", address), now, window)
    if by_address.failures >= settings.address_max_failures:
        raise SignInRefused("address")
    code = credentials.normalise_victim_code(victim_code)
    # Link requests have their own counter: asking for links must not lock PIN sign-in.
    by_link = _counter(session, _key("link", code), now, window)
    victim = victim_service.find_by_code(session=session, victim_code=code)
    reachable = (
        victim is not None and victim.active and bool(victim.email) and victim.email_verified
    )
    token = credentials.new_token(LINK_PREFIX)
    session.add(
        SignInLink(
            token_hash=credentials.hash_token(token),
            victim_id=victim.id if reachable and victim else None,
            expires_at=now + timedelta(minutes=settings.sign_in_link_minutes),
        )
    )
    # Each request counts, so one address or one Victim ID cannot flood a mailbox.
    _fail(session, [by_link, by_address], settings.victim_max_failures, timedelta(0))
    too_many = by_link.failures > settings.victim_max_failures
    send = reachable and not too_many and victim is not None
    return LinkRequest(
        token=token,
        email=victim.email if send and victim else None,
        language=victim.preferred_language if victim else "en",
    )


def redeem_link(*, session: Session, token: str, settings: Settings) -> IssuedSession:
    row = session.exec(
        select(SignInLink)
        .where(SignInLink.token_hash == credentials.hash_token(token))
        .with_for_update()
    ).first()
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at <= now or row.victim_id is None:
        raise SignInRefused("credentials")
    victim = session.get(Victim, row.victim_id)
    if victim is None or not victim.active:
        raise SignInRefused("credentials")
    row.used_at = now
    session.add(row)
    return create_session(session=session, victim=victim, settings=settings)
