"""Staff portal sessions kept on the server, so that they can be ended.

The cookie holds only a random session id; its sha256 finds the row here. A session ends at
sign-out, when the staff member's roles change (at their next sign-in, or by an administrator
through ``end_sessions_for``), after ``staff_session_idle_minutes`` without a request (NIST
800-53 AC-11, AC-12), and at the latest ``staff_session_max_minutes`` after sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col

from voice.auth import credentials
from voice.config import Settings
from voice.database import JSONType, UTCDateTime, read_only, transaction, utcnow

STAFF_SESSION_PREFIX = "sts_"
# A live session's last_seen_at is moved at most this often: a write per request would cost
# every portal page a write transaction, and the idle timeout is counted in minutes.
_TOUCH_EVERY = timedelta(seconds=30)


class StaffSession(SQLModel, table=True):
    """A signed-in staff member. Only the session id's sha256 is kept."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_type=sa.String(64), unique=True)
    subject: str = Field(sa_type=sa.String(128), index=True)
    name: str = Field(sa_type=sa.String(100))
    roles: list[str] = Field(default_factory=list, sa_type=JSONType)
    via: str = Field(sa_type=sa.String(16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # signed-out, role-changed, ended-by-admin
    end_reason: str | None = Field(default=None, sa_type=sa.String(32))


@dataclass(frozen=True)
class LiveStaffSession:
    subject: str
    name: str
    roles: tuple[str, ...]
    via: str


def csrf_for(token: str, settings: Settings) -> str:
    """The CSRF token of a signed-in session: derived from its id, so the cookie holds nothing
    else and a new session always has a new CSRF token."""
    key = settings.secret_key.get_secret_value().encode("utf-8")
    return hmac.new(key, b"csrf:" + token.encode("utf-8"), hashlib.sha256).hexdigest()


def _live(now: datetime, settings: Settings) -> list[sa.ColumnElement[bool]]:
    idle = timedelta(minutes=settings.staff_session_idle_minutes)
    return [
        col(StaffSession.ended_at).is_(None),
        col(StaffSession.expires_at) > now,
        col(StaffSession.last_seen_at) > now - idle,
    ]


def end_sessions_for(*, session: Session, subject: str, reason: str = "ended-by-admin") -> int:
    """End every session of one staff member now (their roles changed, or they left)."""
    result = session.execute(
        sa.update(StaffSession)
        .where(col(StaffSession.subject) == subject, col(StaffSession.ended_at).is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(result.rowcount)  # type: ignore[attr-defined]


def start(
    *,
    session: Session,
    subject: str,
    name: str,
    roles: list[str],
    via: str,
    settings: Settings,
) -> str:
    """Open a session and return its id, for the cookie. Sessions this person holds with other
    roles end here: a role taken away at the identity provider must not live on in them."""
    now = utcnow()
    held = session.execute(
        sa.select(col(StaffSession.roles)).where(
            col(StaffSession.subject) == subject, *_live(now, settings)
        )
    ).scalars()
    if any(sorted(r) != sorted(roles) for r in held):
        end_sessions_for(session=session, subject=subject, reason="role-changed")
    token = credentials.new_token(STAFF_SESSION_PREFIX)
    session.add(
        StaffSession(
            token_hash=credentials.hash_token(token),
            subject=subject,
            name=name,
            roles=sorted(roles),
            via=via,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(minutes=settings.staff_session_max_minutes),
        )
    )
    session.flush()
    return token


def end(*, session: Session, token: str, reason: str = "signed-out") -> None:
    session.execute(
        sa.update(StaffSession)
        .where(
            col(StaffSession.token_hash) == credentials.hash_token(token),
            col(StaffSession.ended_at).is_(None),
        )
        .values(ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    session.flush()


def live_session(
    *, engine: Engine, token: str, settings: Settings, touch: bool = True
) -> LiveStaffSession | None:
    """The session behind a cookie, if it is still live; a request to it counts as activity.

    A session found idle or past its lifetime is ended there and then, so that it stays ended
    (and the table says why) whatever the clock says later. ``touch=False`` only reads (for an
    error page drawn on the event loop, which must not wait on a write).
    """
    now = utcnow()
    token_hash = credentials.hash_token(token)
    with read_only(engine).connect() as connection:
        row = connection.execute(
            sa.select(
                col(StaffSession.subject),
                col(StaffSession.name),
                col(StaffSession.roles),
                col(StaffSession.via),
                col(StaffSession.last_seen_at),
                col(StaffSession.expires_at),
            ).where(
                col(StaffSession.token_hash) == token_hash, col(StaffSession.ended_at).is_(None)
            )
        ).first()
    if row is None:
        return None
    idle = now - row.last_seen_at >= timedelta(minutes=settings.staff_session_idle_minutes)
    expired = row.expires_at <= now
    if touch and (idle or expired or now - row.last_seen_at >= _TOUCH_EVERY):
        values = (
            {"ended_at": now, "end_reason": "expired" if expired else "idle"}
            if idle or expired
            else {"last_seen_at": now}
        )
        with transaction(engine) as session:
            session.execute(
                sa.update(StaffSession)
                .where(
                    col(StaffSession.token_hash) == token_hash,
                    col(StaffSession.ended_at).is_(None),
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
    if idle or expired:
        return None
    return LiveStaffSession(
        subject=row.subject, name=row.name, roles=tuple(row.roles or ()), via=row.via
    )
