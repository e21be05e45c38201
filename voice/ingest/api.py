"""``POST /api/v1/events`` and the published contract."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice.auth.deps import IngestClient
from voice.config import Settings
from voice.database import transaction
from voice.deps import SettingsDep
from voice.disclosure.deps import PolicyDep
from voice.disclosure.policy import Policy
from voice.errors import problem
from voice.ingest import body, service
from voice.ingest.group_commit import EventWriter
from voice.ingest.validation import CONTRACT_PATH, InvalidEvent

router = APIRouter(prefix="/api/v1", tags=["ingest"])

MAX_BATCH = 1000


@router.post(
    "/events",
    summary="Ingest one event (JSON object) or a batch (JSON array or NDJSON)",
    responses={
        201: {"description": "the event was accepted; its receipt"},
        200: {"description": "a replay (the original receipt) or a batch's per-event results"},
        202: {"description": "the event carried a classified marking and was quarantined"},
        400: {"description": "the body is not JSON or NDJSON"},
        409: {"description": "the event's source_event_id was already used for another event"},
        413: {"description": "the body, the event or the batch is too large"},
        422: {"description": "the event breaks the contract; every problem by JSON pointer"},
    },
)
async def ingest_events(
    request: Request,
    policy: PolicyDep,
    settings: SettingsDep,
    _: IngestClient,
) -> JSONResponse:
    try:
        raw = await body.read_limited(request, limit=settings.ingest_max_batch_bytes)
    except body.TooLarge as exc:
        return problem(413, "Content Too Large", str(exc))
    engine: Engine = request.app.state.engine
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip() == body.NDJSON or body.is_array(raw):
        # Parsing and the database work run on a worker thread: on the loop they would stall
        # every other request (health checks included) for the length of a batch.
        return await run_in_threadpool(
            _batch_body,
            raw=raw,
            content_type=content_type,
            engine=engine,
            policy=policy,
            settings=settings,
        )
    # One event: small enough to parse here, and applied by the event writer, which commits
    # it with the other single events waiting at that moment (voice.ingest.group_commit).
    event_limit = settings.ingest_max_event_bytes
    if len(raw) > event_limit:
        return problem(413, "Content Too Large", f"an event holds at most {event_limit} bytes")
    parsed = _parsed(raw)
    if isinstance(parsed, JSONResponse):
        return parsed
    writer: EventWriter = request.app.state.event_writer
    try:
        receipt = await writer.apply_async(parsed, policy)
    except service.EventQuarantined as exc:
        return JSONResponse(exc.receipt.as_dict(), status_code=202)
    except service.EventIdReused as exc:
        return problem(409, "Conflict", str(exc), errors=[p.as_dict() for p in exc.problems])
    except InvalidEvent as exc:
        return _invalid(exc)
    return JSONResponse(receipt.as_dict(), status_code=201 if receipt.status == "accepted" else 200)


def _batch_body(
    *, raw: bytes, content_type: str, engine: Engine, policy: Policy, settings: Settings
) -> JSONResponse:
    event_limit = settings.ingest_max_event_bytes
    if content_type.split(";")[0].strip() == body.NDJSON:
        items = body.ndjson_items(raw, event_limit=event_limit)
    else:
        parsed = _parsed(raw)
        if isinstance(parsed, JSONResponse):
            return parsed
        items = body.array_items(parsed, event_limit=event_limit)
    with transaction(engine) as session:
        return _batch(session, policy, settings, items)


def _parsed(raw: bytes) -> Any:
    """The body's JSON, or the answer refusing it (a ``JSONResponse``)."""
    try:
        return body.loads(raw)
    except InvalidEvent as exc:
        return _invalid(exc)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return problem(400, "Bad Request", "the body is not valid UTF-8 JSON or NDJSON")


def _invalid(exc: InvalidEvent) -> JSONResponse:
    return problem(
        422,
        "Unprocessable Content",
        "the event does not match the contract",
        errors=[p.as_dict() for p in exc.problems],
    )


def _batch(
    session: Session, policy: Policy, settings: Settings, items: list[body.Item]
) -> JSONResponse:
    if len(items) > MAX_BATCH:
        return problem(413, "Content Too Large", f"a batch holds at most {MAX_BATCH} events")
    parsed = [item for item in items if not item.problems]
    applied = service.ingest_batch(
        session=session,
        candidates=[item.candidate for item in parsed],
        policy=policy,
        batch_size=settings.ingest_batch_size,
    )
    by_index = {item.index: result for item, result in zip(parsed, applied, strict=True)}
    results = []
    for item in items:
        result = by_index.get(item.index) or service.BatchResult(0, problems=item.problems)
        entry = {**result.as_dict(), "index": item.index}
        if item.line is not None:
            entry["line"] = item.line
        results.append(entry)
    counts = {
        s: sum(1 for r in results if r["status"] == s)
        for s in ("accepted", "duplicate", "quarantined", "rejected")
    }
    return JSONResponse({"results": results, **counts})


@router.get(
    "/contract/event.schema.json",
    summary="The upstream event contract (JSON Schema)",
    response_class=FileResponse,
    responses={200: {"content": {"application/schema+json": {"schema": {"type": "object"}}}}},
)
def event_contract() -> FileResponse:
    return FileResponse(CONTRACT_PATH, media_type="application/schema+json")
