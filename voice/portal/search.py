"""One search box for cases and registrants."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from voice.auth.deps import CurrentStaff
from voice.deps import SessionDep
from voice.portal import finder
from voice.portal.layout import may, render
from voice.victims.access_log import AccessPurpose, record_access

router = APIRouter(prefix="/portal", include_in_schema=False)


@router.get("/search", response_class=HTMLResponse)
def search(
    request: Request,
    session: SessionDep,
    staff: CurrentStaff,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    query = q.strip()
    results = finder.Results()
    # Registrants are casework: a role that may not open a registrant's page does not see
    # their names in a result list either.
    registrants = may(staff, "GET", "/portal/registrants/{victim_id}")
    if query:
        results.cases = finder.find_cases(session=session, query=query)
        if registrants:
            results.registrants = finder.find_registrants(session=session, query=query)
            for hit in results.registrants:
                assert hit.victim.id is not None
                record_access(
                    session=session,
                    staff=staff,
                    victim_id=hit.victim.id,
                    purpose=AccessPurpose.SEARCH,
                )
    return render(
        request,
        "search.html",
        {"staff": staff, "q": query, "results": results, "searched_registrants": registrants},
    )
