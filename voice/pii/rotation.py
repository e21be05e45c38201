"""Re-encrypting personal data under the current key, in small batches, in the background.

A value under an old key still decrypts (every configured key does), so rotation is never
urgent for reads: it exists so the old key can be retired. That is only safe when rotation
reaches every encrypted column, so the columns are found on the table metadata by their type
rather than listed by hand: a column added later with ``EncryptedText`` is covered the day it
appears. Each batch is its own transaction.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel

from voice.database import transaction
from voice.pii import keyring
from voice.pii.types import EncryptedText

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncryptedTable:
    """One table with its primary key and the columns stored as ciphertext."""

    table: sa.Table
    key: sa.Column[object]
    columns: tuple[sa.Column[str], ...]

    def raw(self, column: sa.Column[str]) -> sa.ColumnElement[str]:
        # The stored text itself, without the decrypting type: the key id is in its prefix.
        return sa.type_coerce(column, sa.Text())

    def stale(self, current_id: str) -> sa.ColumnElement[bool]:
        prefix = f"{keyring.PREFIX}.{current_id}.%"
        return sa.or_(
            *(sa.and_(self.raw(c).is_not(None), self.raw(c).not_like(prefix)) for c in self.columns)
        )


def encrypted_tables(metadata: sa.MetaData | None = None) -> list[EncryptedTable]:
    """Every table of ``metadata`` (the application's by default) holding encrypted columns."""
    found = []
    for table in (metadata or SQLModel.metadata).sorted_tables:
        columns = tuple(c for c in table.columns if isinstance(c.type, EncryptedText))
        if not columns:
            continue
        keys = list(table.primary_key.columns)
        if len(keys) != 1:
            # Re-encryption writes row by row through the primary key.
            raise ValueError(f"table {table.name} has encrypted columns but no single-column key")
        found.append(EncryptedTable(table=table, key=keys[0], columns=columns))
    return found


def rotate_batch(connection: Connection, target: EncryptedTable, *, batch_size: int = 200) -> int:
    """Re-encrypt up to ``batch_size`` rows of one table that hold a value under an older key."""
    current = keyring.active().current_id
    # The typed columns decrypt on the way out; FOR UPDATE keeps a concurrent edit on
    # PostgreSQL from being overwritten with the value read here (SQLite's write
    # transaction already excludes other writers).
    rows = connection.execute(
        sa.select(target.key, *target.columns)
        .where(target.stale(current))
        .order_by(target.key)
        .limit(batch_size)
        .with_for_update()
    ).all()
    if not rows:
        return 0
    names = [c.name for c in target.columns]
    write = (
        sa.update(target.table)
        .where(target.key == sa.bindparam("_key"))
        .values({c.name: sa.bindparam(f"_new_{c.name}", type_=c.type) for c in target.columns})
    )
    connection.execute(
        write,
        [
            {
                "_key": row[0],
                **{f"_new_{name}": value for name, value in zip(names, row[1:], strict=True)},
            }
            for row in rows
        ],
    )
    return len(rows)


def rotate_all(
    engine: Engine, *, batch_size: int = 200, metadata: sa.MetaData | None = None
) -> int:
    """Re-encrypt every stale row of every encrypted table; returns how many rows changed."""
    total = 0
    for target in encrypted_tables(metadata):
        while True:
            with transaction(engine) as session:
                done = rotate_batch(session.connection(), target, batch_size=batch_size)
            total += done
            if done < batch_size:
                break
    return total


def key_usage(*, session: Session, metadata: sa.MetaData | None = None) -> dict[str, int]:
    """How many stored values sit under each key id (for the admin view and the CLI)."""
    usage: Counter[str] = Counter()
    ring = keyring.active()
    for target in encrypted_tables(metadata):
        for column in target.columns:
            raw = target.raw(column)
            for (value,) in session.execute(sa.select(raw).where(raw.is_not(None))):
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
                    log.info("re-encrypted %d rows under the current key", rotated)
            except Exception as exc:
                log.error("PII rotation failed (%s); will retry", type(exc).__name__)
            self._stop.wait(self._interval)
