"""Liaison API: the notices sent about a case, and to a victim."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlmodel import col, select

from voice.api_common import NOT_FOUND, Page, get_or_404, page_params, paginate
from voice.cases.deps import ValidCase
from voice.deps import IdPath, SessionDep
from voice.notify.models import Notification
from voice.victims.models import Victim, VictimCaseLink
from voice.victims.schemas import NotificationPublic, NotificationsPublic

router = APIRouter(prefix="/api/v1", tags=["notices"])
PageDep = Annotated[Page, Depends(page_params)]


def _page(session: SessionDep, page: Page, *where: object) -> NotificationsPublic:
    query = (
        select(Notification)
        .join(VictimCaseLink, col(VictimCaseLink.id) == col(Notification.link_id))
        .where(*where)  # type: ignore[arg-type]
        .order_by(col(Notification.id).desc())
    )
    rows, count = paginate(session, query, page)
    return NotificationsPublic(
        data=[NotificationPublic.model_validate(r, from_attributes=True) for r in rows], count=count
    )


@router.get(
    "/cases/{case_id}/notifications", responses=NOT_FOUND, summary="Notices sent about a case"
)
def case_notifications(case: ValidCase, session: SessionDep, page: PageDep) -> NotificationsPublic:
    return _page(session, page, VictimCaseLink.case_id == case.id)


@router.get(
    "/victims/{victim_id}/notifications", responses=NOT_FOUND, summary="Notices sent to a victim"
)
def victim_notifications(
    victim_id: IdPath, session: SessionDep, page: PageDep
) -> NotificationsPublic:
    get_or_404(session, Victim, victim_id, "victim")
    return _page(session, page, VictimCaseLink.victim_id == victim_id)
