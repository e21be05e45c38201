"""Signed checkpoints of the accounting's heads, kept outside the database.

The hash chains show an edit, but someone able to write the database could rewrite a record
and recompute every hash after it, head included. A checkpoint records, at a moment, where both
chains (the accounting and its recipient references) ended and with which hash, signed with
HMAC-SHA256 under ``VOICE_AUDIT_CHECKPOINT_KEY``, in a file under ``VOICE_AUDIT_CHECKPOINT_DIR``
(ship that directory somewhere the database's writers cannot reach: write-once storage, a
log host). ``verify`` then checks the database still holds exactly those hashes at those
positions, so a rewritten tail shows as soon as it reaches back past the latest checkpoint.
The worker writes one each periodic run when a chain has moved; so does ``voice audit
checkpoint``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from voice.audit import reference_chain
from voice.audit.chain import chain_head
from voice.audit.models import DisclosureRecord, RecipientReference
from voice.config import Settings
from voice.database import utcnow

_PREFIX = "checkpoint-"
_RECORDS = DisclosureRecord.__table__  # type: ignore[attr-defined]
_REFS = RecipientReference.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CheckpointResult:
    ok: bool
    checked: int
    problem: str | None = None


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _mac(body: dict[str, Any], settings: Settings) -> str:
    key = settings.audit_checkpoint_key.get_secret_value().encode("utf-8")
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"{_PREFIX}*.json"))


def _heads(session: Session) -> dict[str, Any]:
    connection = session.connection()
    seq, digest = chain_head(connection)
    ref_seq, ref_digest = reference_chain.reference_head(connection)
    return {
        "accounting": {"chain_seq": seq, "hash": digest},
        "references": {"chain_seq": ref_seq, "hash": ref_digest},
    }


def write_checkpoint(*, session: Session, settings: Settings) -> Path | None:
    """Write a signed checkpoint of both heads; None when neither moved since the last one."""
    heads = _heads(session)
    directory = settings.audit_checkpoint_dir
    existing = _files(directory)
    if existing:
        last = json.loads(existing[-1].read_text(encoding="utf-8"))
        if {k: last.get(k) for k in heads} == heads:
            return None
    now = utcnow()
    body = {"version": 1, "written_at": now.isoformat(), **heads}
    signed = {**body, "hmac_sha256": _mac(body, settings)}
    directory.mkdir(parents=True, exist_ok=True)
    # Named so that sorting by name is sorting by time; written whole, then renamed into place.
    name = f"{_PREFIX}{now.strftime('%Y%m%dT%H%M%S%fZ')}-{heads['accounting']['chain_seq']:012d}"
    final = directory / f"{name}.json"
    partial = directory / f".{name}.tmp"
    with partial.open("w", encoding="utf-8") as out:
        out.write(json.dumps(signed, sort_keys=True, indent=2) + "\n")
        out.flush()
        os.fsync(out.fileno())
    partial.replace(final)
    return final


_RECORD_AT = sa.select(_RECORDS.c.record_hash).where(_RECORDS.c.chain_seq == sa.bindparam("seq"))
_REF_AT = sa.select(_REFS.c.entry_hash).where(_REFS.c.chain_seq == sa.bindparam("seq"))


def verify_checkpoints(*, session: Session, settings: Settings) -> CheckpointResult:
    """Check every checkpoint's signature, and that the database still holds its hashes."""
    connection = session.connection()
    heads = _heads(session)
    checked = 0
    for path in _files(settings.audit_checkpoint_dir):
        try:
            signed = json.loads(path.read_text(encoding="utf-8"))
            body = {k: v for k, v in signed.items() if k != "hmac_sha256"}
            valid = hmac.compare_digest(str(signed.get("hmac_sha256", "")), _mac(body, settings))
        except (OSError, ValueError, AttributeError):
            valid = False
        if not valid:
            return CheckpointResult(
                False, checked, f"checkpoint {path.name} is unreadable or not signed by this key"
            )
        for chain, statement in (("accounting", _RECORD_AT), ("references", _REF_AT)):
            seq, digest = body[chain]["chain_seq"], body[chain]["hash"]
            if seq == 0:
                continue
            held = connection.execute(statement, {"seq": seq}).scalar()
            if held != digest or heads[chain]["chain_seq"] < seq:
                return CheckpointResult(
                    False,
                    checked,
                    f"checkpoint {path.name}: the {chain} chain at position {seq} is not what "
                    "was signed then: it was rewritten or cut back",
                )
        checked += 1
    return CheckpointResult(True, checked)
