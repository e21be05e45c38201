"""A victim's own view of the cases they are linked to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from voice.audit import chain as accounting
from voice.audit import service as disclosure_service
from voice.audit.group_commit import AccountingWriter
from voice.cases.models import Case, CaseEvent, Subject
from voice.database import UTCDateTime, read_only, run_read, utcnow
from voice.disclosure.policy import Policy
from voice.disclosure.release import CASE_COLUMNS, SUBJECT_COLUMNS, Audience, release_row
from voice.holds import service as holds
from voice.notify.callbacks import acknowledgements as ack
from voice.notify.models import AckChannel
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink


@dataclass(frozen=True)
class LinkedCaseView:
    case_id: int
    relationship: str
    verified: bool
    disclosed: dict[str, dict[str, Any]]
    message: str | None = None


_SUBJECT = Subject.__table__.c  # type: ignore[attr-defined]
_CASE = Case.__table__.c  # type: ignore[attr-defined]
_LINK = VictimCaseLink.__table__.c  # type: ignore[attr-defined]
# Built once: this read serves every self-service lookup, and composing a statement costs more
# than SQLite takes to run it. One round trip: links, cases, subjects and hold state together.
_LINKED = (
    sa.select(
        _LINK.relationship,
        _LINK.verification_status,
        _CASE.id,
        holds.held(_CASE.id, sa.bindparam("now", type_=UTCDateTime)).label("held"),
        *(_SUBJECT[name] for name in SUBJECT_COLUMNS),
        *(_CASE[name] for name in CASE_COLUMNS),
    )
    .select_from(VictimCaseLink.__table__)  # type: ignore[attr-defined]
    .join(Case.__table__, _CASE.id == _LINK.case_id)  # type: ignore[attr-defined]
    .join(Subject.__table__, _SUBJECT.id == _CASE.subject_id)  # type: ignore[attr-defined]
    .where(
        _LINK.victim_id == sa.bindparam("victim_id"),
        _LINK.verification_status != VerificationStatus.REJECTED,
    )
    .order_by(_LINK.id)
)
_FIRST_SUBJECT = 4
_FIRST_CASE = _FIRST_SUBJECT + len(SUBJECT_COLUMNS)


def _disclose_linked(
    connection: sa.Connection, victim_id: int, policy: Policy
) -> tuple[list[LinkedCaseView], list[disclosure_service.Release]]:
    views: list[LinkedCaseView] = []
    releases: list[disclosure_service.Release] = []
    rows = connection.execute(_LINKED, {"victim_id": victim_id, "now": utcnow()})
    for row in rows:
        relationship, status, case_id, held = row[:_FIRST_SUBJECT]
        verified = status == VerificationStatus.VERIFIED
        # Until a liaison verifies the relationship, a registrant sees only what is public.
        audience = Audience.VICTIM_VERIFIED if verified else Audience.VICTIM_PENDING
        # The one door, for rows this read fetched itself; the caller accounts before answering.
        view = release_row(
            dict(zip(SUBJECT_COLUMNS, row[_FIRST_SUBJECT:_FIRST_CASE], strict=True)),
            dict(zip(CASE_COLUMNS, row[_FIRST_CASE:], strict=True)),
            held=bool(held),
            audience=audience,
            policy=policy,
        )
        releases.append(disclosure_service.Release(view=view, case_id=case_id))
        views.append(
            LinkedCaseView(
                case_id=case_id,
                relationship=relationship,
                verified=verified,
                disclosed=view.nested(),
                message=view.message,
            )
        )
    return views, releases


def _disclosures(
    victim_id: int,
    policy: Policy,
    releases: list[disclosure_service.Release],
    channel: str = "api",
) -> disclosure_service.Disclosures:
    # One accounting entry per case read.
    return disclosure_service.Disclosures(
        releases=releases,
        policy=policy,
        recipient_kind="victim",
        recipient_id=str(victim_id),
        channel=channel,
    )


def linked_cases(
    *, session: Session, victim: Victim, policy: Policy, channel: str = "api"
) -> list[LinkedCaseView]:
    """Every case linked to ``victim``, disclosed, each read accounted for in ``session``
    as a release through ``channel`` (the API, or the victims' web pages)."""
    assert victim.id is not None
    views, releases = _disclose_linked(session.connection(), victim.id, policy)
    disclosures = _disclosures(victim.id, policy, releases, channel)
    accounting.append_many(
        session=session,
        rows=disclosure_service.accounting_rows(session=session, disclosures=disclosures),
    )
    return views


def _snapshot(
    engine: Engine, victim_id: int, policy: Policy
) -> tuple[list[LinkedCaseView], disclosure_service.Disclosures]:
    with read_only(engine).connect() as connection:
        views, releases = _disclose_linked(connection, victim_id, policy)
    return views, _disclosures(victim_id, policy, releases)


async def read_linked_cases(
    *, engine: Engine, writer: AccountingWriter, victim_id: int, policy: Policy
) -> list[LinkedCaseView]:
    """``linked_cases`` for a read on its own: a read-only snapshot (where ``run_read`` puts
    it), then a group commit (``AccountingWriter``) that holds no thread while it waits.

    The views are returned only once their accounting has committed.
    """
    views, disclosures = await run_read(engine, _snapshot, engine, victim_id, policy)
    await writer.record_async(disclosures)
    return views


@dataclass(frozen=True)
class PendingNotice:
    event_id: int
    case_id: int
    event_type: str
    occurred_at: str


def pending_notices(*, session: Session, victim: Victim) -> list[PendingNotice]:
    """Critical notices sent to ``victim`` that they have not acknowledged yet."""
    links = session.exec(
        select(VictimCaseLink).where(
            VictimCaseLink.victim_id == victim.id,
            VictimCaseLink.verification_status == VerificationStatus.VERIFIED,
        )
    ).all()
    pending = ack.pending_for_links(
        session=session, link_ids=[link.id for link in links if link.id]
    )
    notices = []
    for event_id, _ in pending:
        event = session.get_one(CaseEvent, event_id)
        # Only the event's type and time, both of which the notice itself already told them.
        notices.append(
            PendingNotice(
                event_id=event_id,
                case_id=event.case_id,
                event_type=event.event_type,
                occurred_at=event.occurred_at.isoformat(),
            )
        )
    return notices


def acknowledge_notice(*, session: Session, victim: Victim, event_id: int) -> bool:
    """Acknowledge a critical notice from the self-service view; False if there is none."""
    for event, link_id in ack.pending_for_links(
        session=session,
        link_ids=[
            link.id
            for link in session.exec(
                select(VictimCaseLink).where(VictimCaseLink.victim_id == victim.id)
            ).all()
            if link.id is not None
        ],
    ):
        if event == event_id:
            return ack.acknowledge(
                session=session, event_id=event_id, link_id=link_id, via=AckChannel.SELF_SERVICE
            )
    return False
