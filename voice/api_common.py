"""Shared pieces of the v1 API: pagination and typed 404s."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T", bound=SQLModel)
MAX_PAGE_SIZE = 100


class Page(BaseModel):
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def page_params(
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> Page:
    return Page(page=page, size=size)


def paginate(session: Session, query: SelectOfScalar[T], page: Page) -> tuple[list[T], int]:
    """One page of ``query`` and the total count of its rows."""
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = list(session.exec(query.offset(page.offset).limit(page.size)).all())
    return rows, int(count)


def get_or_404(session: Session, model: type[T], ident: int, what: str) -> T:
    row = session.get(model, ident)
    if row is None:
        raise HTTPException(status_code=404, detail=f"no such {what}")
    return row


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not found"}}
