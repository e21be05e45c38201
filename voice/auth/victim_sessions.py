"""Victims' self-service sessions: opaque bearer tokens, stored only as hashes.

The check runs on every self-service request. A session ends when it expires, when the victim
signs out, and the moment the victim is deactivated. The identity layer sits below the victims
domain, so it reads the one column of the registrant's row it needs by name.

A live answer is remembered in this process for ``CHECK_SECONDS``: a busy victim's requests then
cost no read each. A session that ends in this process is forgotten at once, and again once the
change commits, so an answer read before the commit cannot linger. One that ends in another
process stops counting here within ``CHECK_SECONDS``. The lookup of case data does not rely on
the remembered answer: its own read checks the session again (``live_session``), in the same
statement as the data.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, object_session
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from voice.auth import credentials
from voice.auth.models import VictimSession
from voice.database import AnyOf, UTCDateTime, utcnow

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


_SESSION = VictimSession.__table__  # type: ignore[attr-defined]
_WITH_VICTIM = _SESSION.join(_VICTIM, _VICTIM.c.id == _SESSION.c.victim_id)


def _live(now: sa.BindParameter[datetime]) -> sa.ColumnElement[bool]:
    return sa.and_(
        _SESSION.c.revoked_at.is_(None), _SESSION.c.expires_at > now, _VICTIM.c.active.is_(True)
    )


_SIGNED_IN = (
    sa.select(_SESSION.c.victim_id, _SESSION.c.expires_at)
    .select_from(_WITH_VICTIM)
    .where(
        _SESSION.c.token_hash == sa.bindparam("token_hash"),
        _live(sa.bindparam("now", type_=UTCDateTime)),
    )
)


def signed_in_any(
    token_hashes: sa.BindParameter[list[str]], now: sa.BindParameter[datetime]
) -> tuple[sa.FromClause, sa.ColumnElement[bool], sa.ColumnElement[str], sa.ColumnElement[int]]:
    """For a read that checks sessions in its own statement, several at once: the sessions
    joined to their victims, the condition that a session is one of ``token_hashes`` (a
    ``TextList``) and live, of an active victim, and the columns holding its token hash and
    its victim's id."""
    condition = sa.and_(AnyOf(_SESSION.c.token_hash, token_hashes), _live(now))
    return _WITH_VICTIM, condition, _SESSION.c.token_hash, _SESSION.c.victim_id


def victim_id_for_session(*, connection: sa.Connection, token: str) -> int | None:
    """The signed-in victim's id, if the session is live and the victim active.

    Checked on every self-service request, so it reads one column with a prebuilt statement and
    decrypts nothing. A live answer is remembered briefly (``remembered``).
    """
    token_hash = credentials.hash_token(token)
    generation = _checks.generation
    row = connection.execute(_SIGNED_IN, {"token_hash": token_hash, "now": utcnow()}).first()
    if row is None:
        return None
    victim_id: int = row[0]
    _checks.remember(token_hash, victim_id, row[1], generation)
    return victim_id


def remembered(token: str) -> int | None:
    """The victim a live session belongs to, if this process checked it in the last
    ``CHECK_SECONDS``; None means "read it" (``victim_id_for_session``), never "refused"."""
    return _checks.recall(credentials.hash_token(token))


def forget(
    *,
    session: OrmSession | None = None,
    token_hash: str | None = None,
    victim_id: int | None = None,
) -> None:
    """Stop remembering a session (``token_hash``) or every session of ``victim_id``: now, and
    again once ``session`` commits the change that ended it."""
    _checks.forget(token_hash, victim_id)
    if session is not None:

        def again(_committed: Any) -> None:
            _checks.forget(token_hash, victim_id)

        sa.event.listen(session, "after_commit", again, once=True)


def sign_out(*, session: Session, token: str) -> None:
    row = session.exec(
        select(VictimSession).where(VictimSession.token_hash == credentials.hash_token(token))
    ).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()


# How long a live answer is trusted in this process: long enough that a victim's bursts of
# requests cost one read, short enough that a session ended elsewhere stops at once for a person.
CHECK_SECONDS = 2.0
_MAX_REMEMBERED = 10_000


class _Checks:
    """Live sessions checked lately, by token hash. Any thread may use it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[str, tuple[int, float, datetime]] = {}
        # Moves on every forget: an answer read before a forget is not remembered after it.
        self.generation = 0

    def remember(
        self, token_hash: str, victim_id: int, expires_at: datetime, generation: int
    ) -> None:
        with self._lock:
            if generation != self.generation:
                return
            if len(self._live) >= _MAX_REMEMBERED:
                self._live.clear()
            self._live[token_hash] = (victim_id, time.monotonic() + CHECK_SECONDS, expires_at)

    def recall(self, token_hash: str) -> int | None:
        found = self._live.get(token_hash)
        # The session's own end still counts to the instant, on the service's clock.
        if found is None or found[1] <= time.monotonic() or found[2] <= utcnow():
            return None
        return found[0]

    def forget(self, token_hash: str | None, victim_id: int | None) -> None:
        with self._lock:
            self.generation += 1
            if token_hash is not None:
                self._live.pop(token_hash, None)
            if victim_id is not None:
                for key in [k for k, found in self._live.items() if found[0] == victim_id]:
                    del self._live[key]


_checks = _Checks()


@sa.event.listens_for(Mapper, "after_update")
def _changed(mapper: Mapper[Any], _connection: Any, row: Any) -> None:
    # Every way a session ends through the ORM (sign-out, the web's sign-out, a victim
    # deactivated) updates one of these rows. The identity layer sits below the victims
    # domain, so it knows the victim's table by name. Forgetting on any update of them costs
    # one dictionary lookup and misses none.
    table = mapper.local_table
    if table is _SESSION:
        forget(session=object_session(row), token_hash=row.token_hash)
    elif getattr(table, "name", None) == _VICTIM.name:
        forget(session=object_session(row), victim_id=row.id)
