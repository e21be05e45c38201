"""The portal's home: the staff member's work queue, and claiming and closing tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from voice.auth.deps import CurrentStaff
from voice.database import utcnow
from voice.deps import IdPath, SessionDep, SettingsDep
from voice.liaison import service as liaison_service
from voice.liaison.due import due_at
from voice.portal import queue
from voice.portal.layout import HOME, render

router = APIRouter(prefix="/portal", include_in_schema=False)

# What the page says after a form: a fixed set, so a crafted link cannot put words on the page.
DONE = {
    "claimed": "You have claimed the task. It is in your tasks.",
    "closed": "The task is closed with your outcome note.",
}


@router.get("/", include_in_schema=False)
def home_with_slash(request: Request) -> RedirectResponse:
    """``/portal/`` is how many people type the portal's address: it is the home page."""
    query = request.url.query
    return RedirectResponse(f"{HOME}?{query}" if query else HOME, status_code=308)


@router.get("", response_class=HTMLResponse)
def home(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    staff: CurrentStaff,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return render(
        request,
        "home.html",
        {
            "staff": staff,
            "queue": queue.build(session=session, settings=settings, staff=staff),
            "now": utcnow(),
            "due_at": due_at,
            "done": DONE.get(done or ""),
        },
    )


def _task_error(exc: Exception) -> HTTPException:
    if isinstance(exc, liaison_service.TaskNotFound):
        return HTTPException(status_code=404, detail="no such task")
    return HTTPException(status_code=409, detail="the task is closed already")


@router.post("/tasks/{task_id}/claim")
def claim(task_id: IdPath, session: SessionDep, staff: CurrentStaff) -> RedirectResponse:
    try:
        liaison_service.claim_task(session=session, task_id=task_id, by=staff.subject)
    except (liaison_service.TaskNotFound, liaison_service.TaskClosed) as exc:
        raise _task_error(exc) from exc
    return RedirectResponse(f"{HOME}?done=claimed#my-tasks", status_code=303)


@router.post("/tasks/{task_id}/close")
def close(
    task_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    outcome_note: Annotated[str, Form(min_length=1, max_length=4000)],
) -> RedirectResponse:
    if not outcome_note.strip():
        raise HTTPException(status_code=422, detail="an outcome note is required")
    try:
        liaison_service.close_task(
            session=session, task_id=task_id, by=staff.subject, note=outcome_note.strip()
        )
    except (liaison_service.TaskNotFound, liaison_service.TaskClosed) as exc:
        raise _task_error(exc) from exc
    return RedirectResponse(f"{HOME}?done=closed", status_code=303)
