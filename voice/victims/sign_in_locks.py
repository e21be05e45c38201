"""What staff see of a victim's PIN back-off, and lifting it.

A victim who calls because they cannot sign in is helped by a person, who sees whether the
Victim ID is backing off and can lift it. Only staff reach this, by the victim's row: nothing
here answers for a Victim ID as typed, so it cannot tell anyone whether an ID exists.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from voice.auth.models import SignInThrottle
from voice.database import utcnow
from voice.victims.models import Victim
from voice.victims.signin import victim_throttle_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignInLock:
    locked: bool
    locked_until: datetime | None
    failures: int


def _row(session: Session, victim: Victim) -> SignInThrottle | None:
    if not victim.victim_code:
        return None
    return session.get(SignInThrottle, victim_throttle_key(victim.victim_code))


def sign_in_lock(*, session: Session, victim: Victim) -> SignInLock:
    row = _row(session, victim)
    if row is None:
        return SignInLock(locked=False, locked_until=None, failures=0)
    locked = row.locked_until is not None and row.locked_until > utcnow()
    return SignInLock(
        locked=locked, locked_until=row.locked_until if locked else None, failures=row.failures
    )


def lift_sign_in_lock(*, session: Session, victim: Victim, by: str) -> SignInLock:
    """Forget the Victim ID's failed PINs, so the next PIN is checked at once. Returns what
    there was to lift."""
    before = sign_in_lock(session=session, victim=victim)
    row = _row(session, victim)
    if row is not None:
        row.failures = 0
        row.locked_until = None
        row.window_started_at = utcnow()
        session.add(row)
        session.flush()
    # Ids only: ``by`` is a staff subject or an operator's note, never a victim's data.
    log.info("sign-in back-off of victim %s lifted by %s", victim.id, by)
    return before
