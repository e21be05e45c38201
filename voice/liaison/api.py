"""Liaison API: the staff's task list; claiming a task, and closing it with what was done."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from voice.api_common import NOT_FOUND, Page, page_params
from voice.auth.deps import CurrentStaff
from voice.deps import IdPath, SessionDep
from voice.liaison import service as liaison_service
from voice.liaison.models import (
    LiaisonTask,
    LiaisonTaskPublic,
    LiaisonTasksPublic,
    TaskClose,
    TaskKind,
    TaskStatus,
)

router = APIRouter(prefix="/api/v1", tags=["liaison tasks"])
PageDep = Annotated[Page, Depends(page_params)]
CLOSED: dict[int | str, dict[str, str]] = {409: {"description": "the task is closed already"}}


def _public(task: LiaisonTask) -> LiaisonTaskPublic:
    return LiaisonTaskPublic.model_validate(task, from_attributes=True)


@router.get("/tasks", summary="Liaison tasks, oldest first, filtered by kind, status, assignee")
def list_tasks(
    session: SessionDep,
    page: PageDep,
    kind: Annotated[TaskKind | None, Query(description="only tasks of this kind")] = None,
    status: Annotated[TaskStatus | None, Query(description="open or done (default: all)")] = None,
    assignee: Annotated[
        str | None, Query(max_length=200, description="only tasks claimed by this person")
    ] = None,
) -> LiaisonTasksPublic:
    filters = {"kind": kind, "status": status, "assignee": assignee}
    rows = liaison_service.list_tasks(
        session=session, offset=page.offset, limit=page.size, **filters
    )
    count = liaison_service.count_tasks(session=session, **filters)
    return LiaisonTasksPublic(data=[_public(t) for t in rows], count=count)


@router.post(
    "/tasks/{task_id}/claim",
    responses={**NOT_FOUND, **CLOSED},
    summary="Take an open task on: it is assigned to the caller",
)
def claim_task(task_id: IdPath, session: SessionDep, staff: CurrentStaff) -> LiaisonTaskPublic:
    try:
        task = liaison_service.claim_task(session=session, task_id=task_id, by=staff.subject)
    except liaison_service.TaskNotFound as exc:
        raise HTTPException(status_code=404, detail="no such task") from exc
    except liaison_service.TaskClosed as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return _public(task)


@router.post(
    "/tasks/{task_id}/close",
    responses={**NOT_FOUND, **CLOSED},
    summary="Close an open task with an outcome note (what was found or done)",
)
def close_task(
    task_id: IdPath, body: TaskClose, session: SessionDep, staff: CurrentStaff
) -> LiaisonTaskPublic:
    try:
        task = liaison_service.close_task(
            session=session, task_id=task_id, by=staff.subject, note=body.outcome_note
        )
    except liaison_service.TaskNotFound as exc:
        raise HTTPException(status_code=404, detail="no such task") from exc
    except liaison_service.TaskClosed as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return _public(task)
