"""Manual status entry: the supervisor's form for recording a status change by hand.

Two steps, without JavaScript: choose the event type, then fill in the form for that type (the
contract's fields that type carries). The entry goes through ingest (voice/ingest/manual.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from voice.auth.deps import CurrentStaff
from voice.cases.service import parse_datetime
from voice.deps import SessionDep
from voice.disclosure.deps import PolicyDep
from voice.ingest import manual
from voice.ingest.service import EventQuarantined
from voice.ingest.validation import InvalidEvent
from voice.portal.rendering import NavPage, nav_page, render

router = APIRouter(prefix="/portal/status-entry", include_in_schema=False)

PAGES: tuple[NavPage, ...] = (nav_page("Manual status entry", "/portal/status-entry"),)

LABELS = {
    "custody_status": "Custody status",
    "facility_name": "Facility name",
    "facility_city": "Facility city",
    "facility_state": "Facility state",
    "immigration_status": "Immigration status",
    "proceedings_stage": "Proceedings stage",
    "release_type": "Release type",
    "release_address": "Release address",
    "hearing_at": "Hearing date and time (UTC)",
    "hearing_court": "Hearing court",
    "scheduled_removal_at": "Scheduled removal date and time (UTC)",
    "removal_port": "Removal port",
    "removed_to_country": "Removed to country",
}
_DATETIMES = frozenset({"hearing_at", "scheduled_removal_at"})
_POINTER_FIELDS = {"/subject/subject_id": "subject_id", "/occurred_at": "occurred_at"}


class EntryForm(BaseModel):
    event_type: str = Field(max_length=64)
    subject_id: str = Field(default="", max_length=64)
    case_number: str = Field(default="", max_length=64)
    occurred_at: str = Field(default="", max_length=32)
    reason: str = Field(default="", max_length=2000)
    corrects: str = Field(default="", max_length=128)
    custody_status: str = Field(default="", max_length=32)
    facility_name: str = Field(default="", max_length=200)
    facility_city: str = Field(default="", max_length=100)
    facility_state: str = Field(default="", max_length=32)
    immigration_status: str = Field(default="", max_length=100)
    proceedings_stage: str = Field(default="", max_length=32)
    release_type: str = Field(default="", max_length=32)
    release_address: str = Field(default="", max_length=500)
    hearing_at: str = Field(default="", max_length=32)
    hearing_court: str = Field(default="", max_length=200)
    scheduled_removal_at: str = Field(default="", max_length=32)
    removal_port: str = Field(default="", max_length=200)
    removed_to_country: str = Field(default="", max_length=100)


def _as_utc(value: str) -> datetime:
    """A datetime-local value ("2026-11-27T09:30") is read as UTC, as the form says."""
    text = value.strip()
    if len(text) == 16:
        text += ":00"
    if not text.endswith("Z") and "+" not in text[10:]:
        text += "Z"
    return parse_datetime(text)


def _fields(event_type: str) -> list[dict[str, Any]]:
    """The form's case fields for an event type: enums as choices, the rest as text."""
    found = []
    for name in manual.RELEVANT_FIELDS.get(event_type, ()):
        schema = manual.case_field_schema(name)
        kind = "datetime" if name in _DATETIMES else ("enum" if "enum" in schema else "text")
        options = [("", "- Select -")] + [(v, v.replace("_", " ")) for v in schema.get("enum", [])]
        found.append({"name": name, "label": LABELS[name], "kind": kind, "options": options})
    return found


def _page(
    request: Request,
    staff: Any,
    *,
    event_type: str | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    alert: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    known = manual.event_types()
    chosen = event_type if event_type in known else None
    return render(
        request,
        "ops/status_entry.html",
        {
            "staff": staff,
            "event_types": [(t, t) for t in known],
            "event_type": chosen,
            "fields": _fields(chosen) if chosen else [],
            "values": values or {},
            "errors": errors or {},
            "alert": alert,
        },
        status_code=status_code,
    )


@router.get("", response_class=HTMLResponse)
def entry_form(
    request: Request,
    staff: CurrentStaff,
    event_type: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    return _page(request, staff, event_type=event_type)


@router.post("", response_class=HTMLResponse)
def record_entry(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    staff: CurrentStaff,
    form: Annotated[EntryForm, Form()],
) -> Response:
    values = form.model_dump()
    errors: dict[str, str] = {}
    if form.event_type not in manual.event_types():
        return _page(
            request, staff, event_type=None, alert="Choose an event type.", status_code=422
        )
    for name, value in (("subject_id", form.subject_id), ("case_number", form.case_number)):
        if not value.strip():
            errors[name] = "Enter this: it names the case the entry changes."
    occurred: datetime | None = None
    try:
        occurred = _as_utc(form.occurred_at)
    except ValueError:
        errors["occurred_at"] = "Enter when it happened, as a date and time in UTC."
    case_fields: dict[str, str] = {}
    for field in _fields(form.event_type):
        value = str(values.get(field["name"], "")).strip()
        if value and field["kind"] == "datetime":
            try:
                value = _as_utc(value).isoformat()
            except ValueError:
                errors[field["name"]] = "Enter a date and time in UTC."
        case_fields[field["name"]] = value
    if errors or occurred is None:
        return _page(
            request, staff, event_type=form.event_type, values=values, errors=errors,
            alert="Correct the fields marked below.", status_code=422,
        )  # fmt: skip
    entry = manual.ManualEntry(
        event_type=form.event_type,
        subject_id=form.subject_id.strip(),
        case_number=form.case_number.strip(),
        occurred_at=occurred,
        reason=form.reason,
        fields=case_fields,
        corrects=form.corrects.strip() or None,
    )
    try:
        receipt = manual.record(
            session=session, policy=policy, entry=entry,
            entered_by=staff.subject, entered_by_name=staff.display_name or staff.subject,
        )  # fmt: skip
    except manual.EntryRefused as exc:
        return _page(
            request, staff, event_type=form.event_type, values=values, alert=str(exc),
            status_code=422,
        )  # fmt: skip
    except EventQuarantined:
        # The quarantine row and its alert commit with this answer; nothing of the entry stays.
        return _page(
            request, staff, event_type=form.event_type,
            alert="The entry carried a classified marking and was quarantined. Security staff "
            "have been alerted. Nothing of it was stored.",
            status_code=422,
        )  # fmt: skip
    except InvalidEvent as exc:
        for problem in exc.problems:
            name = _POINTER_FIELDS.get(problem.pointer, problem.pointer.rsplit("/", 1)[-1])
            errors[name] = problem.message
        return _page(
            request, staff, event_type=form.event_type, values=values, errors=errors,
            alert="Correct the fields marked below.", status_code=422,
        )  # fmt: skip
    return RedirectResponse(f"/portal/cases/{receipt.case_id}#timeline-heading", status_code=303)
