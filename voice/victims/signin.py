"""Victim self-service sign-in: Victim ID + PIN, or a one-time link sent by email.

Every answer is the same whether the Victim ID exists or not, and so is the work: the PIN is
checked against a dummy hash for an unknown ID, and failures are counted per Victim ID *as
typed*, and per client address. Past a few failures each counter backs off: every further
failure doubles the wait before the next PIN is even checked, so guessing costs the attacker
time while a victim who mistyped waits a minute. A backed-off victim can still sign in with an
emailed link, and staff can see and lift a back-off (voice/victims/sign_in_locks.py).
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


def victim_throttle_key(victim_code: str) -> str:
    """The PIN back-off counter's key for a Victim ID (staff look at and lift it by this)."""
    return _key("victim", credentials.normalise_victim_code(victim_code))


def _counter(session: Session, key: str, now: datetime, window: timedelta) -> SignInThrottle:
    row = session.get(SignInThrottle, key, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():
                row = SignInThrottle(key=key, window_started_at=now)
                session.add(row)
        except IntegrityError:  # created by a concurrent request: use theirs
            row = session.get_one(SignInThrottle, key, with_for_update=True)
    # ``window_started_at`` moves with every failure, so a counter is forgotten only after a
    # whole quiet window that begins when its last back-off ended: waiting out one back-off
    # does not start the attacker afresh.
    quiet_since = max(row.window_started_at, row.locked_until or row.window_started_at)
    if now - quiet_since > window and not _locked(row, now):
        row.failures = 0
        row.window_started_at = now
        row.locked_until = None
    return row


def _locked(row: SignInThrottle, now: datetime) -> bool:
    return row.locked_until is not None and row.locked_until > now


def backoff(failures: int, allowed: int, settings: Settings) -> timedelta | None:
    """How long a counter waits after ``failures``: nothing up to ``allowed``, then doubling."""
    over = failures - allowed
    if over < 0:
        return None
    seconds = settings.sign_in_backoff_seconds * 2 ** min(over, 40)
    return timedelta(seconds=min(seconds, settings.sign_in_backoff_max_seconds))


def _fail(session: Session, counted: list[tuple[SignInThrottle, int]], settings: Settings) -> None:
    """Count a failure on each (counter, failures allowed before it backs off)."""
    now = utcnow()
    for row, allowed in counted:
        row.failures += 1
        row.window_started_at = now
        wait = backoff(row.failures, allowed, settings)
        if wait is not None:
            row.locked_until = now + wait
        session.add(row)
    session.flush()


def sign_in_with_pin(
    *, session: Session, victim_code: str, pin: str, address: str, settings: Settings
) -> IssuedSession:
    now = utcnow()
    window = timedelta(seconds=settings.throttle_window_seconds)
    by_address = _counter(session, _key("address", address), now, window)
    if _locked(by_address, now):
        raise SignInRefused("address")
    code = credentials.normalise_victim_code(victim_code)
    by_identity = _counter(session, _key("victim", code), now, window)
    if _locked(by_identity, now):
        # Backing off: no PIN is checked at all, so a correct guess meanwhile is worthless. The
        # attempt costs the address, never the Victim ID: hammering a victim's ID does not keep
        # the victim out any longer.
        _fail(session, [(by_address, settings.address_max_failures)], settings)
        raise SignInRefused("credentials")
    victim = victim_service.find_by_code(session=session, victim_code=code)
    usable = victim is not None and victim.active
    matches = credentials.verify_pin(victim.pin_hash if usable and victim else None, pin)
    if not (usable and matches) or victim is None:
        _fail(
            session,
            [
                (by_identity, settings.victim_max_failures),
                (by_address, settings.address_max_failures),
            ],
            settings,
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
    # Link requests have counters of their own, per Victim ID and per address: asking for
    # links must not lock PIN sign-in, and a PIN spray must not stop the link that gets a
    # backed-off victim in.
    by_address = _counter(session, _key("link-address", address), now, window)
    if _locked(by_address, now):
        raise SignInRefused("address")
    code = credentials.normalise_victim_code(victim_code)
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
    too_many = _locked(by_link, now)
    _fail(
        session,
        [(by_link, settings.victim_max_failures), (by_address, settings.address_max_failures)],
        settings,
    )
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
