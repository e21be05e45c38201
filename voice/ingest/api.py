"""``POST /api/v1/events`` and the published contract."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse

from voice.auth.deps import IngestClient
from voice.deps import SessionDep
from voice.disclosure.deps import PolicyDep
from voice.errors import problem
from voice.ingest import service
from voice.ingest.validation import CONTRACT_PATH, InvalidEvent

router = APIRouter(prefix="/api/v1", tags=["ingest"])

MAX_BATCH = 1000


def parse_body(raw: bytes, content_type: str) -> Any:
    """JSON (one event or an array of events) or NDJSON (one event per line)."""
    text = raw.decode("utf-8")
    if content_type.split(";")[0].strip() == "application/x-ndjson":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


@router.post(
    "/events",
    summary="Ingest one event (JSON object) or a batch (JSON array or NDJSON)",
    responses={
        201: {"description": "the event was accepted; its receipt"},
        200: {"description": "a replay (the original receipt) or a batch's per-event results"},
        202: {"description": "the event carried a classified marking and was quarantined"},
        400: {"description": "the body is not JSON or NDJSON"},
        413: {"description": "the batch holds too many events"},
        422: {"description": "the event breaks the contract; every problem by JSON pointer"},
    },
)
async def ingest_events(
    request: Request, session: SessionDep, policy: PolicyDep, _: IngestClient
) -> JSONResponse:
    try:
        body = parse_body(await request.body(), request.headers.get("content-type", ""))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return problem(400, "Bad Request", "the body is not valid UTF-8 JSON or NDJSON")

    if isinstance(body, list):
        if len(body) > MAX_BATCH:
            return problem(413, "Content Too Large", f"a batch holds at most {MAX_BATCH} events")
        results = service.ingest_batch(session=session, candidates=body, policy=policy)
        counts = {
            s: sum(1 for r in results if r.as_dict()["status"] == s)
            for s in ("accepted", "duplicate", "quarantined", "rejected")
        }
        return JSONResponse({"results": [r.as_dict() for r in results], **counts})

    try:
        receipt = service.ingest_event(session=session, candidate=body, policy=policy)
    except service.EventQuarantined as exc:
        return JSONResponse(exc.receipt.as_dict(), status_code=202)
    except InvalidEvent as exc:
        return problem(
            422,
            "Unprocessable Content",
            "the event does not match the contract",
            errors=[p.as_dict() for p in exc.problems],
        )
    return JSONResponse(receipt.as_dict(), status_code=201 if receipt.status == "accepted" else 200)


@router.get(
    "/contract/event.schema.json",
    summary="The upstream event contract (JSON Schema)",
    response_class=FileResponse,
    responses={200: {"content": {"application/schema+json": {"schema": {"type": "object"}}}}},
)
def event_contract() -> FileResponse:
    return FileResponse(CONTRACT_PATH, media_type="application/schema+json")
