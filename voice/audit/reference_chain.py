"""The recipient references, hash-chained like the accounting itself.

The accounting names recipients only by opaque reference; ``recipient_reference`` says who each
reference is. Editing that mapping would change who every record of a reference was disclosed
to while the accounting's own chain still verified, so the mapping has a chain of its own: each
row carries its position and a hash over its content and the hash of the row before it. Its end
is kept in the chain-head table under ``REFERENCE_HEAD_ID`` and anchored outside the database
by the signed checkpoints (voice/audit/checkpoints.py).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from voice.audit.models import DisclosureChainHead, RecipientReference
from voice.database import utcnow

GENESIS = "0" * 64
# Row 1 of the chain-head table is the accounting's head; row 2 is this chain's.
REFERENCE_HEAD_ID = 2

_REFS = RecipientReference.__table__  # type: ignore[attr-defined]
_HEAD = DisclosureChainHead.__table__  # type: ignore[attr-defined]
_READ_HEAD = sa.select(_HEAD.c.chain_seq, _HEAD.c.record_hash).where(
    _HEAD.c.id == REFERENCE_HEAD_ID
)


def entry_hash(values: dict[str, Any]) -> str:
    """The hash of one mapping row. Migration 0008 holds a frozen copy: change both or neither."""
    body = {
        "chain_seq": values["chain_seq"],
        "ref": values["ref"],
        "recipient_kind": values["recipient_kind"],
        "recipient_id": values["recipient_id"],
        "created_at": values["created_at"].isoformat(),
        "prev_hash": values["prev_hash"],
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def reference_head(connection: sa.Connection) -> tuple[int, str]:
    row = connection.execute(_READ_HEAD).first()
    return (row[0], row[1]) if row is not None else (0, GENESIS)


def append_reference(
    connection: sa.Connection, *, ref: str, recipient_kind: str, recipient_id: str
) -> None:
    """Insert a mapping row at the end of its chain. The caller holds the accounting's lock."""
    append_references(connection, [(ref, recipient_kind, recipient_id)])


def append_references(connection: sa.Connection, entries: list[tuple[str, str, str]]) -> None:
    """Insert mapping rows, each ``(ref, recipient_kind, recipient_id)``, at the end of their
    chain in one statement. The caller holds the accounting's lock."""
    if not entries:
        return
    was, prev = reference_head(connection)
    now = utcnow()
    rows = chained_references(was, prev, entries, now)
    connection.execute(sa.insert(_REFS), rows)
    last, prev = rows[-1]["chain_seq"], rows[-1]["entry_hash"]
    if was == 0:
        connection.execute(
            sa.insert(_HEAD).values(
                id=REFERENCE_HEAD_ID, chain_seq=last, record_hash=prev, updated_at=now
            )
        )
    else:
        connection.execute(
            sa.update(_HEAD)
            .where(_HEAD.c.id == REFERENCE_HEAD_ID)
            .values(chain_seq=last, record_hash=prev, updated_at=now)
        )


def chained_references(
    was: int, prev: str, entries: list[tuple[str, str, str]], now: datetime
) -> list[dict[str, Any]]:
    """The mapping rows for ``entries``, chained on from position ``was`` and hash ``prev``."""
    rows: list[dict[str, Any]] = []
    for seq, (ref, recipient_kind, recipient_id) in enumerate(entries, start=was + 1):
        values: dict[str, Any] = {
            "ref": ref,
            "recipient_kind": recipient_kind,
            "recipient_id": recipient_id,
            "created_at": now,
            "chain_seq": seq,
            "prev_hash": prev,
        }
        prev = entry_hash(values)
        del values["prev_hash"]
        rows.append({**values, "entry_hash": prev})
    return rows


def verify_references(*, session: Session) -> tuple[bool, int, str | None]:
    """Walk the mapping's chain: (ok, rows checked, the first problem found)."""
    connection = session.connection()
    prev, expected, checked = GENESIS, 1, 0
    rows = connection.execute(sa.select(_REFS).order_by(_REFS.c.chain_seq, _REFS.c.id))
    for row in rows.mappings():
        where = f"recipient reference id {row['id']} (chain position {row['chain_seq']})"
        if row["chain_seq"] != expected:
            return False, checked, f"{where}: expected position {expected}"
        if entry_hash({**row, "prev_hash": prev}) != row["entry_hash"]:
            return False, checked, f"{where}: who it names does not match its hash"
        prev, expected, checked = row["entry_hash"], expected + 1, checked + 1
    if reference_head(connection) != (checked, prev):
        return (
            False,
            checked,
            f"the recipient references end at position {checked} but their head disagrees: "
            "references were removed from the end, or the head was altered",
        )
    return True, checked, None
