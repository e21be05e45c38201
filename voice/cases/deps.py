"""Validating dependencies for case routes: the 404 lives here, once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException

from voice.cases.models import Case
from voice.deps import IdPath, SessionDep


def valid_case(case_id: IdPath, session: SessionDep) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise HTTPException(status_code=404, detail="no such case")
    return case


ValidCase = Annotated[Case, Depends(valid_case)]
