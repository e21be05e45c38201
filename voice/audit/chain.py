"""The accounting of disclosures as a hash chain, and reading it back.

Each record carries the hash of the record before it and its own hash over a canonical
serialisation of every column but ``id``. Writers are serialised, so the chain has one order:
on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the write lock that every
transaction takes at BEGIN IMMEDIATE (voice/database.py). A one-row head records where the chain
ends. ``verify`` walks the chain and names the first row that was edited, removed or moved, and
checks that the chain reaches its head, so removing the newest records shows too.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.audit import reference_chain
from voice.audit.models import DisclosureChainHead, DisclosureRecord, RecipientReference
from voice.database import SessionStatement, insert_rows, run_together, utcnow

GENESIS = "0" * 64
# Any fixed 64-bit number will do; it only has to differ from other advisory locks in use.
_CHAIN_LOCK = 0x564F494345414343  # "VOICEACC"
_HASHED = (
    "chain_seq",
    "disclosed_at",
    "recipient_kind",
    "recipient_ref",
    "audience",
    "channel",
    "purpose",
    "case_id",
    "event_id",
    "notification_id",
    "fields_released",
    "fields_withheld",
    "policy_version",
    "policy_sha256",
    "prev_hash",
)


def canonical(body: dict[str, Any]) -> bytes:
    """A record's canonical serialisation: the bytes of ``json.dumps(body, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)`` in UTF-8, which every stored hash was made of.

    orjson with sorted keys writes those same bytes for what a record holds (strings, integers,
    None, and lists and mappings of them) at a fraction of the cost, and the accounting hashes
    every record it writes (tests/audit/test_canonical.py holds the two equal). Anything else
    goes to json itself.
    """
    try:
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(values: dict[str, Any]) -> str:
    body = {name: values[name] for name in _HASHED}
    body["disclosed_at"] = body["disclosed_at"].isoformat()
    return hashlib.sha256(canonical(body)).hexdigest()


_RECORDS = DisclosureRecord.__table__  # type: ignore[attr-defined]
_HEAD = DisclosureChainHead.__table__  # type: ignore[attr-defined]
_REFS = RecipientReference.__table__  # type: ignore[attr-defined]
# Prebuilt: every disclosure in the service runs these, under the chain's lock.
_READ_HEAD = sa.select(_HEAD.c.chain_seq, _HEAD.c.record_hash).where(_HEAD.c.id == 1)
_MOVE_HEAD = sa.update(_HEAD).where(_HEAD.c.id == 1)
# Bound parameters per query: well inside SQLite's limit for any batch.
_CHUNK = 500
# The accounting's appends, built once: a statement built anew costs its construction and
# its cache key at every execution, more than the database takes to run it.
_INSERT_RECORDS = sa.insert(_RECORDS)
_INSERT_REFS = sa.insert(_REFS)
_MOVE_ONE_HEAD = sa.update(_HEAD).where(_HEAD.c.id == sa.bindparam("head_id"))
_TAKE_LOCK = SessionStatement(
    sa.select(sa.func.pg_advisory_xact_lock(sa.bindparam("key", type_=sa.BigInteger)))
)
_FIND_REF = sa.select(_REFS.c.ref).where(
    _REFS.c.recipient_kind == sa.bindparam("kind"), _REFS.c.recipient_id == sa.bindparam("id")
)


def recipient_ref(*, session: Session, recipient_kind: str, recipient_id: str) -> str:
    """The opaque reference for a recipient, created on first use.

    Under the chain's lock, so two first disclosures to one recipient cannot both create it.
    """
    _lock_chain(session)
    connection = session.connection()
    found: str | None = connection.execute(
        _FIND_REF, {"kind": recipient_kind, "id": recipient_id}
    ).scalar()
    if found is not None:
        return found
    ref = "rcp_" + secrets.token_hex(16)
    # Chained, so that changing whom a reference names shows (voice/audit/reference_chain.py).
    reference_chain.append_reference(
        connection, ref=ref, recipient_kind=recipient_kind, recipient_id=recipient_id
    )
    return ref


def recipient_refs(
    *, session: Session, recipients: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """``recipient_ref`` for many recipients at once: one query for those already known.

    Under the chain's lock, like ``recipient_ref``; the references of recipients seen for the
    first time are created and chained together, in one more statement.
    """
    wanted = sorted(set(recipients))
    if not wanted:
        return {}
    _lock_chain(session)
    connection = session.connection()
    found = _known_refs(session, wanted)
    new = _new_refs(wanted, found)
    # Chained, so that changing whom a reference names shows (voice/audit/reference_chain.py).
    reference_chain.append_references(connection, [(found[r], *r) for r in new])
    return found


# The references of recipients of one kind; ``append_for`` sends it with the lock.
_REFS_OF_KIND = SessionStatement(
    sa.select(_REFS.c.recipient_id, _REFS.c.ref).where(
        _REFS.c.recipient_kind == sa.bindparam("kind"),
        _REFS.c.recipient_id.in_(sa.bindparam("ids", expanding=True)),
    )
)


def _lock_and_read(
    session: Session, wanted: list[tuple[str, str]]
) -> tuple[dict[tuple[str, str], str], dict[int, tuple[int, str]]]:
    """Take the chain's lock (``_lock_chain``), then read the references of ``wanted`` (all of
    one kind, at most ``_CHUNK``) and both chains' heads, in one round trip on PostgreSQL.

    A group commit of the accounting runs this with lookups waiting for it: three statements
    one after another were three round trips, and between them its thread queued for the
    interpreter behind the event loop each time. Run together, the server still takes the
    lock before it reads, so the heads read are the latest, and nobody can move them until
    this transaction ends."""
    calls: list[tuple[SessionStatement, dict[str, Any]]] = []
    locking = _needs_lock(session)
    if locking:
        calls.append((_TAKE_LOCK, {"key": _CHAIN_LOCK}))
    if wanted:
        calls.append((_REFS_OF_KIND, _of_kind(wanted[0][0], [i for _, i in wanted])))
    calls.append((_READ_HEADS, _BOTH_HEADS))
    outcomes = run_together(session, calls)
    if locking:
        _locked(session)
    found = _refs_found(wanted[0][0], outcomes[-2].rows) if wanted else {}
    heads = {seq_id: (seq, digest) for seq_id, seq, digest in outcomes[-1].rows}
    return found, heads


def _known_refs(session: Session, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The references of those ``wanted`` recipients that have one already."""
    found: dict[tuple[str, str], str] = {}
    by_kind: dict[str, list[str]] = {}
    for kind, recipient_id in wanted:
        by_kind.setdefault(kind, []).append(recipient_id)
    for kind, ids in by_kind.items():
        for start in range(0, len(ids), _CHUNK):
            rows = _REFS_OF_KIND.execute(session, _of_kind(kind, ids[start : start + _CHUNK]))
            found.update(_refs_found(kind, rows.rows))
    return found


def _of_kind(kind: str, ids: list[str]) -> dict[str, Any]:
    return {"kind": kind, "ids": ids}


def _refs_found(kind: str, rows: list[tuple[Any, ...]]) -> dict[tuple[str, str], str]:
    return {(kind, recipient_id): ref for recipient_id, ref in rows}


def _new_refs(
    wanted: list[tuple[str, str]], found: dict[tuple[str, str], str]
) -> list[tuple[str, str]]:
    """The ``wanted`` recipients without a reference; each gets a new one in ``found``."""
    new = [recipient for recipient in wanted if recipient not in found]
    for recipient in new:
        found[recipient] = "rcp_" + secrets.token_hex(16)
    return new


_LOCKED_IN = "voice_chain_locked_in"


def _lock_chain(session: Session) -> None:
    # Transaction-scoped and re-entrant. Taking it again in the same transaction changes
    # nothing but costs a round trip, so the transaction (or savepoint: one rolled back
    # releases what it took) that took it is remembered, and not asked again.
    if _needs_lock(session):
        _TAKE_LOCK.execute(session, {"key": _CHAIN_LOCK})
        _locked(session)


def _needs_lock(session: Session) -> bool:
    """Whether ``_lock_chain`` has the lock still to take: on PostgreSQL, and not yet in this
    transaction (or savepoint)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    current = session.get_nested_transaction() or session.get_transaction()
    return not (
        current is not None and current.is_active and session.info.get(_LOCKED_IN) is current
    )


def _locked(session: Session) -> None:
    session.info[_LOCKED_IN] = session.get_nested_transaction() or session.get_transaction()


def chain_head(connection: sa.Connection) -> tuple[int, str]:
    """Where the chain ends: (position, hash), or (0, GENESIS) before the first record.

    Read and moved with plain statements, never as an ORM object: a copy held in a session's
    identity map would go stale the moment another append moved the head.
    """
    row = connection.execute(_READ_HEAD).first()
    return (row[0], row[1]) if row is not None else (0, GENESIS)


def _move_head(connection: sa.Connection, *, was: int, seq: int, last_hash: str) -> None:
    now = utcnow()
    if was == 0:
        connection.execute(
            sa.insert(_HEAD).values(id=1, chain_seq=seq, record_hash=last_hash, updated_at=now)
        )
    else:
        connection.execute(
            _MOVE_HEAD, {"chain_seq": seq, "record_hash": last_hash, "updated_at": now}
        )


def append(*, session: Session, values: dict[str, Any]) -> DisclosureRecord:
    """Add one record at the end of the chain (``values`` holds every column but the chain's)."""
    _lock_chain(session)
    connection = session.connection()
    was, prev = chain_head(connection)
    values = {**values, "chain_seq": was + 1, "prev_hash": prev, "disclosed_at": utcnow()}
    record = DisclosureRecord(**values, record_hash=record_hash(values))
    session.add(record)
    session.flush()
    _move_head(connection, was=was, seq=was + 1, last_hash=record.record_hash)
    return record


def append_many(*, session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add several records at the end of the chain in one statement (one read of the head)."""
    if not rows:
        return
    _lock_chain(session)
    connection = session.connection()
    was, prev = chain_head(connection)
    chained = _chained(was, prev, rows, utcnow())
    connection.execute(_INSERT_RECORDS, chained)
    _move_head(
        connection, was=was, seq=chained[-1]["chain_seq"], last_hash=chained[-1]["record_hash"]
    )


def _chained(
    was: int, prev: str, rows: Sequence[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """``rows`` as records chained on from position ``was`` and hash ``prev``."""
    chained = []
    for seq, values in enumerate(rows, start=was + 1):
        row = {**values, "chain_seq": seq, "prev_hash": prev, "disclosed_at": now}
        row["record_hash"] = prev = record_hash(row)
        chained.append(row)
    return chained


_REFERENCE_HEAD = reference_chain.REFERENCE_HEAD_ID
# Both chains' heads, read in one statement by ``append_for``.
_READ_HEADS = SessionStatement(
    sa.select(_HEAD.c.id, _HEAD.c.chain_seq, _HEAD.c.record_hash).where(
        _HEAD.c.id.in_(sa.bindparam("head_ids", expanding=True))
    )
)
_BOTH_HEADS = {"head_ids": [1, _REFERENCE_HEAD]}


def append_for(
    *,
    session: Session,
    recipients: Iterable[tuple[str, str]],
    rows_for: Callable[[dict[tuple[str, str], str]], list[dict[str, Any]]],
    known: dict[tuple[str, str], str] | None = None,
) -> None:
    """``recipient_refs`` and then ``append_many`` of the rows ``rows_for`` builds from the
    references, in fewer statements: both chains' heads are read in one and moved in one, and
    the references the caller already ``known`` are not looked up.

    A hand-over commit runs this with its send threads waiting for it, so each round trip
    saved is one they no longer wait for.
    """
    everyone = set(recipients)
    if not everyone:
        return  # no recipient, so nothing was released
    found = {r: ref for r, ref in (known or {}).items() if r in everyone}
    wanted = sorted(everyone - set(found))
    connection = session.connection()
    kinds = {kind for kind, _ in wanted}
    heads: dict[int, tuple[int, str]] | None = None
    if len(kinds) <= 1 and len(wanted) <= _CHUNK:
        known_now, heads = _lock_and_read(session, wanted)
        found.update(known_now)
    else:
        _lock_chain(session)
        found.update(_known_refs(session, wanted))
    new = _new_refs(wanted, found)
    rows = rows_for(found)
    if not new and not rows:
        return
    if heads is None:
        read = _READ_HEADS.execute(session, _BOTH_HEADS)
        heads = {seq_id: (seq, digest) for seq_id, seq, digest in read.rows}
    now = utcnow()
    moved: dict[int, tuple[int, str]] = {}
    if new:
        was, prev = heads.get(_REFERENCE_HEAD, (0, GENESIS))
        # Chained, so that changing whom a reference names shows (reference_chain.py).
        entries = reference_chain.chained_references(was, prev, [(found[r], *r) for r in new], now)
        connection.execute(_INSERT_REFS, entries)
        moved[_REFERENCE_HEAD] = (entries[-1]["chain_seq"], entries[-1]["entry_hash"])
    if rows:
        was, prev = heads.get(1, (0, GENESIS))
        chained = _chained(was, prev, rows, now)
        insert_rows(session, _RECORDS, chained)
        moved[1] = (chained[-1]["chain_seq"], chained[-1]["record_hash"])
    _move_heads(connection, moved, existing=set(heads), now=now)


def _move_heads(
    connection: sa.Connection,
    moved: dict[int, tuple[int, str]],
    *,
    existing: set[int],
    now: datetime,
) -> None:
    """Move the heads in ``moved`` (id -> position, hash): those there already in one update."""
    for head_id in sorted(set(moved) - existing):
        seq, digest = moved[head_id]
        connection.execute(
            sa.insert(_HEAD).values(id=head_id, chain_seq=seq, record_hash=digest, updated_at=now)
        )
    update = {head_id: moved[head_id] for head_id in sorted(set(moved) & existing)}
    if not update:
        return
    if len(update) == 1:
        # The usual case (no recipient new to the accounting): one head, a prebuilt statement.
        [(head_id, (seq, digest))] = update.items()
        connection.execute(
            _MOVE_ONE_HEAD,
            {"head_id": head_id, "chain_seq": seq, "record_hash": digest, "updated_at": now},
        )
        return
    connection.execute(
        sa.update(_HEAD)
        .where(_HEAD.c.id.in_(list(update)))
        .values(
            chain_seq=sa.case({i: seq for i, (seq, _) in update.items()}, value=_HEAD.c.id),
            record_hash=sa.case({i: h for i, (_, h) in update.items()}, value=_HEAD.c.id),
            updated_at=now,
        )
    )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None


def _rows(session: Session) -> Iterator[DisclosureRecord]:
    yield from session.exec(select(DisclosureRecord).order_by(col(DisclosureRecord.chain_seq)))


def verify(*, session: Session, rows: Iterable[DisclosureRecord] | None = None) -> VerifyResult:
    prev, expected_seq, checked = GENESIS, 1, 0
    for row in rows if rows is not None else _rows(session):
        values = row.model_dump()
        where = f"record id {row.id} (chain position {row.chain_seq})"
        if row.chain_seq != expected_seq:
            return VerifyResult(False, checked, f"{where}: expected position {expected_seq}")
        if row.prev_hash != prev:
            return VerifyResult(False, checked, f"{where}: does not follow the record before it")
        if record_hash(values) != row.record_hash:
            return VerifyResult(False, checked, f"{where}: its content does not match its hash")
        prev, expected_seq, checked = row.record_hash, expected_seq + 1, checked + 1
    head_seq, head_hash = chain_head(session.connection())
    if (head_seq, head_hash) != (checked, prev):
        return VerifyResult(
            False,
            checked,
            f"the chain ends at position {checked} but its head records position {head_seq}: "
            "records were removed from the end, or the head was altered",
        )
    return VerifyResult(True, checked)


def accounting_for_subject(*, session: Session, subject_id: int) -> list[dict[str, Any]]:
    """Every disclosure of a subject's case data, oldest first, without naming any recipient."""
    from voice.cases.models import Case

    rows = session.exec(
        select(DisclosureRecord)
        .join(Case, col(Case.id) == col(DisclosureRecord.case_id))
        .where(Case.subject_id == subject_id)
        .order_by(col(DisclosureRecord.chain_seq))
    )
    return [
        {
            "disclosed_at": row.disclosed_at.isoformat(),
            "recipient": f"{row.recipient_kind}:{row.recipient_ref}",
            "audience": row.audience,
            "channel": row.channel,
            "purpose": row.purpose,
            "case_id": row.case_id,
            "event_id": row.event_id,
            "fields_released": row.fields_released,
            "fields_withheld": [
                {"field": w.get("field"), "rule_id": w.get("rule_id"), "basis": w.get("basis")}
                for w in row.fields_withheld
            ],
            "policy_version": row.policy_version,
            "policy_sha256": row.policy_sha256,
            "chain_seq": row.chain_seq,
        }
        for row in rows
    ]
