"""A victim's own view of the cases they are linked to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from voice.cases.models import Case, Subject
from voice.disclosure import service as disclosure_service
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import disclose
from voice.disclosure.policy import Policy
from voice.disclosure.records import case_record
from voice.holds import service as hold_service
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink


@dataclass(frozen=True)
class LinkedCaseView:
    case_id: int
    relationship: str
    verified: bool
    disclosed: dict[str, dict[str, Any]]
    notice: str | None = None


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
    held = hold_service.held_case_ids(session=session, case_ids=[c.id for _, c, _ in rows if c.id])
    views = []
    for link, case, subject in rows:
        assert case.id is not None
        if case.id in held:
            # A safety hold stops all outward disclosure: nothing is released, so nothing is
            # recorded as released, and the victim is not told why.
            views.append(
                LinkedCaseView(
                    case_id=case.id,
                    relationship=link.relationship,
                    verified=link.verification_status == VerificationStatus.VERIFIED,
                    disclosed={},
                    notice=hold_service.NEUTRAL_NOTICE,
                )
            )
            continue
        view = disclose(case_record(subject, case), audience=audience_for(link), policy=policy)
        disclosure_service.record_disclosure(
            session=session,
            view=view,
            policy=policy,
            recipient_kind="victim",
            recipient_id=str(victim.id),
            channel="api",
            case_id=case.id,
        )
        views.append(
            LinkedCaseView(
                case_id=case.id,
                relationship=link.relationship,
                verified=link.verification_status == VerificationStatus.VERIFIED,
                disclosed=view.nested(),
            )
        )
    return views
