"""Re-encrypting personal data under the current key, in small batches, in the background.

A value under an old key still decrypts (every configured key does), so rotation is never
urgent for reads: it exists so the old key can be retired. Each batch is its own transaction.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, or_, select

from voice.database import transaction
from voice.pii import keyring
from voice.victims.models import Victim

log = logging.getLogger(__name__)

ENCRYPTED_COLUMNS = ("first_name", "last_name", "email", "phone")


def _raw(name: str) -> sa.ColumnElement[str]:
    # The stored text itself, without the decrypting type: the key id is in its prefix.
    return sa.type_coerce(Victim.__table__.c[name], sa.Text())  # type: ignore[attr-defined]


def stale_filter(current_id: str) -> sa.ColumnElement[bool]:
    prefix = f"{keyring.PREFIX}.{current_id}.%"
    return or_(
        *(sa.and_(_raw(n).is_not(None), _raw(n).not_like(prefix)) for n in ENCRYPTED_COLUMNS)
    )


def rotate_batch(*, session: Session, batch_size: int = 200) -> int:
    """Re-encrypt up to ``batch_size`` victims that hold a value under an older key."""
    current = keyring.active().current_id
    victims = session.exec(
        select(Victim).where(stale_filter(current)).order_by(col(Victim.id)).limit(batch_size)
    ).all()
    for victim in victims:
        for name in ENCRYPTED_COLUMNS:
            flag_modified(victim, name)  # written again, so encrypted under the current key
        session.add(victim)
    session.flush()
    return len(victims)


def rotate_all(engine: Engine, *, batch_size: int = 200) -> int:
    total = 0
    while True:
        with transaction(engine) as session:
            done = rotate_batch(session=session, batch_size=batch_size)
        total += done
        if done < batch_size:
            return total


def key_usage(*, session: Session) -> dict[str, int]:
    """How many stored values sit under each key id (for the admin view and the CLI)."""
    usage: Counter[str] = Counter()
    ring = keyring.active()
    for name in ENCRYPTED_COLUMNS:
        for (value,) in session.execute(sa.select(_raw(name)).where(_raw(name).is_not(None))):
            usage[ring.key_id_of(value) or "unencrypted"] += 1
    return dict(usage)


class BackgroundRotation:
    """Runs beside the in-process worker: re-encrypts stale rows, then rests."""

    def __init__(self, engine: Engine, *, interval: float = 60.0) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="voice-pii-rotation", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rotated = rotate_all(self._engine)
                if rotated:
                    log.info("re-encrypted %d victim rows under the current key", rotated)
            except Exception as exc:
                log.error("PII rotation failed (%s); will retry", type(exc).__name__)
            self._stop.wait(self._interval)
