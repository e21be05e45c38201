"""Victims' self-service sessions: opaque bearer tokens, stored only as hashes.

The check runs on every self-service request. A session ends when it expires, when the victim
signs out, and the moment the victim is deactivated. The identity layer sits below the victims
domain, so it reads the one column of the registrant's row it needs by name.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.auth import credentials
from voice.auth.models import VictimSession
from voice.database import UTCDateTime, utcnow

SESSION_PREFIX = "vss_"

_VICTIM = sa.table("victim", sa.column("id", sa.Integer), sa.column("active", sa.Boolean))


def issue(*, session: Session, victim_id: int, minutes: float) -> tuple[str, datetime]:
    """A new session for ``victim_id``: its token (shown once) and when it expires."""
    token = credentials.new_token(SESSION_PREFIX)
    expires_at = utcnow() + timedelta(minutes=minutes)
    session.add(
        VictimSession(
            token_hash=credentials.hash_token(token), victim_id=victim_id, expires_at=expires_at
        )
    )
    session.flush()
    return token, expires_at


_SIGNED_IN = (
    sa.select(col(VictimSession.victim_id))
    .join(_VICTIM, _VICTIM.c.id == col(VictimSession.victim_id))
    .where(
        col(VictimSession.token_hash) == sa.bindparam("token_hash"),
        col(VictimSession.revoked_at).is_(None),
        col(VictimSession.expires_at) > sa.bindparam("now", type_=UTCDateTime),
        _VICTIM.c.active.is_(True),
    )
)


def victim_id_for_session(*, connection: sa.Connection, token: str) -> int | None:
    """The signed-in victim's id, if the session is live and the victim active.

    Checked on every self-service request, so it reads one column with a prebuilt statement and
    decrypts nothing.
    """
    found: int | None = connection.execute(
        _SIGNED_IN, {"token_hash": credentials.hash_token(token), "now": utcnow()}
    ).scalar()
    return found


def sign_out(*, session: Session, token: str) -> None:
    row = session.exec(
        select(VictimSession).where(VictimSession.token_hash == credentials.hash_token(token))
    ).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
