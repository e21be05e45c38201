"""The accounting of disclosures, for privacy officers and auditors (read-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlmodel import col, select

from voice.api_common import NOT_FOUND, Page, page_params, paginate
from voice.audit.models import DisclosureRecord, RecipientReference
from voice.cases.deps import ValidCase
from voice.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["accounting of disclosures"])
PageDep = Annotated[Page, Depends(page_params)]


class DisclosureRecordPublic(BaseModel):
    id: int
    disclosed_at: datetime
    recipient_kind: str
    # An opaque reference: who it stands for is kept apart (RecipientReference).
    recipient_ref: str
    audience: str
    channel: str
    purpose: str
    case_id: int
    event_id: int | None
    notification_id: int | None
    fields_released: list[str]
    fields_withheld: list[dict[str, Any]]
    policy_version: str
    policy_sha256: str
    chain_seq: int
    record_hash: str


class DisclosureRecordsPublic(BaseModel):
    data: list[DisclosureRecordPublic]
    count: int


def _records(rows: list[DisclosureRecord], count: int) -> DisclosureRecordsPublic:
    return DisclosureRecordsPublic(
        data=[DisclosureRecordPublic.model_validate(r, from_attributes=True) for r in rows],
        count=count,
    )


@router.get("/disclosures", summary="Every release of case data, newest first")
def list_disclosures(
    session: SessionDep,
    page: PageDep,
    recipient_kind: Annotated[str | None, Query(max_length=16)] = None,
    recipient_id: Annotated[str | None, Query(max_length=64)] = None,
) -> DisclosureRecordsPublic:
    query = select(DisclosureRecord).order_by(col(DisclosureRecord.id).desc())
    if recipient_kind:
        query = query.where(DisclosureRecord.recipient_kind == recipient_kind)
    if recipient_id:
        refs = select(RecipientReference.ref).where(
            RecipientReference.recipient_id == recipient_id,
            *([RecipientReference.recipient_kind == recipient_kind] if recipient_kind else []),
        )
        query = query.where(col(DisclosureRecord.recipient_ref).in_(refs))
    return _records(*paginate(session, query, page))


@router.get("/cases/{case_id}/disclosures", responses=NOT_FOUND, summary="A case's disclosures")
def case_disclosures(
    case: ValidCase, session: SessionDep, page: PageDep
) -> DisclosureRecordsPublic:
    query = (
        select(DisclosureRecord)
        .where(DisclosureRecord.case_id == case.id)
        .order_by(col(DisclosureRecord.id).desc())
    )
    return _records(*paginate(session, query, page))
