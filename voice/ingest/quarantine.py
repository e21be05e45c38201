"""Spillage: an event that carries a classified marking is quarantined on ingest.

Only an id, the sha256 of the event and the rule that caught it are kept; the content is never
stored, queued, logged, rendered or echoed. A security alert row is raised for security staff.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from voice.database import utcnow
from voice.disclosure.spillage import RULE_MARKING, RULE_PORTION_MARK, scan
from voice.ingest.models import QuarantinedEvent, SecurityAlert

log = logging.getLogger(__name__)

__all__ = ["RULE_MARKING", "RULE_PORTION_MARK", "digest", "quarantine", "scan"]


def digest(candidate: Any) -> str:
    canonical = json.dumps(candidate, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def quarantine(*, session: Session, candidate: Any, rule_id: str) -> tuple[QuarantinedEvent, bool]:
    """Keep the event's hash and raise an alert; return the row and whether it is new.

    The same event sent again finds its first quarantine row and raises no second alert.
    """
    sha256 = digest(candidate)
    existing = _by_digest(session, sha256)
    if existing is not None:
        return existing, False
    row = QuarantinedEvent(quarantine_id=str(uuid.uuid4()), payload_sha256=sha256, rule_id=rule_id)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
            session.add(
                SecurityAlert(kind="spillage", rule_id=rule_id, quarantine_id=row.quarantine_id)
            )
            session.flush()
    except IntegrityError:
        # A concurrent request quarantined the same event first. The error's parameters hold
        # only hashes and ids, and it is not logged or raised on.
        found = _by_digest(session, sha256)
        if found is None:
            raise RuntimeError("quarantine conflict without a row") from None
        return found, False
    log.warning("spillage quarantined id=%s rule=%s", row.quarantine_id, rule_id)
    return row, True


def _by_digest(session: Session, sha256: str) -> QuarantinedEvent | None:
    return session.exec(
        select(QuarantinedEvent).where(QuarantinedEvent.payload_sha256 == sha256)
    ).first()


def list_quarantine(*, session: Session) -> list[QuarantinedEvent]:
    return list(session.exec(select(QuarantinedEvent).order_by(col(QuarantinedEvent.id))).all())


def purge(*, session: Session, quarantine_id: str, purged_by: str) -> bool:
    """Drop a quarantine row once security staff have dealt with it; its alert stays, resolved."""
    if not purged_by.strip():
        raise ValueError("purging needs the name of who purges")
    row = session.exec(
        select(QuarantinedEvent).where(QuarantinedEvent.quarantine_id == quarantine_id)
    ).first()
    if row is None:
        return False
    now = utcnow()
    for alert in session.exec(
        select(SecurityAlert).where(SecurityAlert.quarantine_id == quarantine_id)
    ):
        if alert.resolved_at is None:
            alert.resolved_at, alert.resolved_by = now, purged_by.strip()
            session.add(alert)
    session.delete(row)
    session.flush()
    log.info("quarantine purged id=%s", quarantine_id)
    return True
