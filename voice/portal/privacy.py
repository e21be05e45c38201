"""The privacy officer's pages: the accounting of disclosures, its chain, and the access log.

The accounting names recipients only by their opaque references; the access log names staff
and registrants by id. Neither page shows a registrant's name or contact details.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from voice.audit import chain
from voice.audit.models import DisclosureRecord
from voice.auth.deps import CurrentStaff
from voice.cases.models import Case, Subject
from voice.deps import SessionDep
from voice.portal.rendering import NavPage, nav_page, render
from voice.victims.access_log import access_log
from voice.victims.models import Victim

router = APIRouter(prefix="/portal/privacy", include_in_schema=False)

PAGES: tuple[NavPage, ...] = (
    nav_page("Accounting of disclosures", "/portal/privacy"),
    nav_page("Accounting chain", "/portal/privacy/chain"),
    nav_page("Access log", "/portal/privacy/access-log"),
)

PAGE_SIZE = 50
CSV_COLUMNS = (
    "chain_seq", "disclosed_at", "recipient_kind", "recipient_ref", "audience", "channel",
    "purpose", "case_id", "case_number", "event_id", "fields_released", "fields_withheld",
    "policy_version", "policy_sha256", "record_hash",
)  # fmt: skip


class AccountingFilter(BaseModel):
    subject: str = Field(default="", max_length=64)
    recipient: str = Field(default="", max_length=40)
    since: date | None = None
    until: date | None = None
    channel: str = Field(default="", max_length=16)
    page: int = Field(default=1, ge=1, le=10_000)

    def query_string(self) -> str:
        fields = self.model_dump(exclude={"page"}, exclude_none=True)
        return urlencode({k: v for k, v in fields.items() if v != ""})


def _empty_to_none(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise HTTPException(status_code=422, detail="a date is YYYY-MM-DD") from None


def accounting_filter(
    subject: Annotated[str, Query(max_length=64)] = "",
    recipient: Annotated[str, Query(max_length=40)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    channel: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> AccountingFilter:
    # Empty date fields come from the form as "": read them as no filter.
    return AccountingFilter(
        subject=subject.strip(), recipient=recipient.strip(), since=_empty_to_none(since),
        until=_empty_to_none(until), channel=channel.strip(), page=page,
    )  # fmt: skip


FilterDep = Annotated[AccountingFilter, Depends(accounting_filter)]


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _query(f: AccountingFilter) -> SelectOfScalar[DisclosureRecord]:
    query = select(DisclosureRecord)
    if f.subject:
        cases = select(Case.id).join(Subject, col(Subject.id) == col(Case.subject_id))
        cases = cases.where(Subject.upstream_id == f.subject)
        query = query.where(col(DisclosureRecord.case_id).in_(cases))
    if f.recipient:
        query = query.where(DisclosureRecord.recipient_ref == f.recipient)
    if f.since is not None:
        query = query.where(col(DisclosureRecord.disclosed_at) >= _start_of(f.since))
    if f.until is not None:
        # The whole of the last day.
        query = query.where(col(DisclosureRecord.disclosed_at) < _start_of(f.until + timedelta(1)))
    if f.channel:
        query = query.where(DisclosureRecord.channel == f.channel)
    return query.order_by(col(DisclosureRecord.chain_seq).desc())


def _case_numbers(session: Session, rows: list[DisclosureRecord]) -> dict[int, str]:
    ids = {r.case_id for r in rows}
    if not ids:
        return {}
    found = session.exec(select(Case.id, Case.case_number).where(col(Case.id).in_(ids))).all()
    return {case_id or 0: number or f"#{case_id}" for case_id, number in found}


def _channels(session: Session) -> list[str]:
    return sorted(session.exec(select(DisclosureRecord.channel).distinct()).all())


@router.get("", response_class=HTMLResponse)
def accounting_page(
    request: Request, session: SessionDep, staff: CurrentStaff, f: FilterDep
) -> HTMLResponse:
    query = _query(f).offset((f.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    rows = list(session.exec(query).all())
    return render(
        request,
        "ops/privacy.html",
        {
            "staff": staff,
            "f": f,
            "rows": rows[:PAGE_SIZE],
            "case_numbers": _case_numbers(session, rows),
            "has_next": len(rows) > PAGE_SIZE,
            "channels": [("", "Any channel")] + [(c, c) for c in _channels(session)],
            "query": f.query_string(),
        },
    )


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell that starts like a formula: keep every cell plain text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_rows(session: Session, f: AccountingFilter) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = list(session.exec(_query(f)).all())
    numbers = _case_numbers(session, rows)
    for r in rows:
        withheld = ";".join(f"{w.get('field')}:{w.get('rule_id')}" for w in r.fields_withheld)
        values: dict[str, Any] = {
            **r.model_dump(),
            "disclosed_at": r.disclosed_at.isoformat(),
            "case_number": numbers.get(r.case_id, ""),
            "fields_released": ";".join(r.fields_released),
            "fields_withheld": withheld,
        }
        writer.writerow([_cell(values[c]) for c in CSV_COLUMNS])
    yield out.getvalue()


@router.get("/disclosures.csv")
def accounting_csv(session: SessionDep, staff: CurrentStaff, f: FilterDep) -> StreamingResponse:
    # Rendered before the answer starts: the request's session closes when the route returns.
    body = "".join(_csv_rows(session, f))
    return StreamingResponse(
        iter([body]),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="accounting-of-disclosures.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/chain", response_class=HTMLResponse)
def chain_page(request: Request, session: SessionDep, staff: CurrentStaff) -> HTMLResponse:
    result = chain.verify(session=session)
    head_seq, head_hash = chain.chain_head(session.connection())
    return render(
        request,
        "ops/privacy_chain.html",
        {"staff": staff, "result": result, "head_seq": head_seq, "head_hash": head_hash},
    )


@router.get("/access-log", response_class=HTMLResponse)
def access_log_page(
    request: Request,
    session: SessionDep,
    staff: CurrentStaff,
    victim: Annotated[str, Query(max_length=16)] = "",
    staff_subject: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    victim_row = None
    if victim.strip():
        victim_row = session.exec(
            select(Victim).where(Victim.victim_code == victim.strip())
        ).first()
    rows = []
    if not victim.strip() or victim_row is not None:
        rows = access_log(
            session=session,
            victim_id=victim_row.id if victim_row is not None else None,
            staff_subject=staff_subject.strip() or None,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE + 1,
        )
    codes = dict(
        session.exec(
            select(Victim.id, Victim.victim_code).where(
                col(Victim.id).in_({r.victim_id for r in rows})
            )
        ).all()
    )
    query = urlencode(
        {k: v for k, v in (("victim", victim), ("staff_subject", staff_subject)) if v}
    )
    return render(
        request,
        "ops/privacy_access.html",
        {
            "staff": staff,
            "rows": rows[:PAGE_SIZE],
            "codes": codes,
            "victim": victim,
            "staff_subject": staff_subject,
            "page": page,
            "has_next": len(rows) > PAGE_SIZE,
            "query": query,
        },
    )
