"""A victim's own view of the cases they are linked to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from voice.cases.models import Case, CaseEvent, Subject
from voice.disclosure import holds
from voice.disclosure import service as disclosure_service
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import disclose
from voice.disclosure.policy import Policy
from voice.disclosure.records import case_record
from voice.notify import ack
from voice.notify.models import AckChannel
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink


@dataclass(frozen=True)
class LinkedCaseView:
    case_id: int
    relationship: str
    verified: bool
    disclosed: dict[str, dict[str, Any]]
    message: str | None = None


def audience_for(link: VictimCaseLink) -> Audience:
    # Until a liaison verifies the relationship, a registrant sees only what is public.
    if link.verification_status == VerificationStatus.VERIFIED:
        return Audience.VICTIM_VERIFIED
    return Audience.VICTIM_PENDING


def linked_cases(*, session: Session, victim: Victim, policy: Policy) -> list[LinkedCaseView]:
    """Every case linked to ``victim``, disclosed, each read accounted for."""
    rows = session.exec(
        select(VictimCaseLink, Case, Subject)
        .join(Case, col(Case.id) == col(VictimCaseLink.case_id))
        .join(Subject, col(Subject.id) == col(Case.subject_id))
        .where(
            VictimCaseLink.victim_id == victim.id,
            VictimCaseLink.verification_status != VerificationStatus.REJECTED,
        )
        .order_by(col(VictimCaseLink.id))
    ).all()
    views = []
    releases: list[disclosure_service.Release] = []
    held = holds.held_case_ids(session=session, case_ids=[case.id for _, case, _ in rows])  # type: ignore[misc]
    for link, case, subject in rows:
        assert case.id is not None
        view = disclose(
            case_record(subject, case, safety_hold=case.id in held),
            audience=audience_for(link),
            policy=policy,
        )
        releases.append(disclosure_service.Release(view=view, case_id=case.id))
        views.append(
            LinkedCaseView(
                case_id=case.id,
                relationship=link.relationship,
                verified=link.verification_status == VerificationStatus.VERIFIED,
                disclosed=view.nested(),
                message=view.message,
            )
        )
    # One accounting entry per case read, written together.
    disclosure_service.record_disclosures(
        session=session,
        releases=releases,
        policy=policy,
        recipient_kind="victim",
        recipient_id=str(victim.id),
        channel="api",
    )
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
