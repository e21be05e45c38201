"""What staff do to a registrant: verify, reset the PIN, deactivate, opt out or in, link to a
case and verify the link. Each is a POST form that lands back on the registrant's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from voice.auth.deps import CurrentStaff
from voice.cases.models import Case
from voice.deps import IdPath, SessionDep
from voice.portal import finder
from voice.portal.layout import render
from voice.portal.registrant_deps import ValidRegistrant, set_opt_out
from voice.portal.registrant_form import RELATIONSHIPS
from voice.portal.registrants import pin_letter, registrant_page
from voice.victims import service as victim_service
from voice.victims import verification
from voice.victims.api import VerifyingDep
from voice.victims.deps import NowDep
from voice.victims.models import Relationship, VictimCaseLink
from voice.victims.verification_models import ContactKind

router = APIRouter(prefix="/portal", include_in_schema=False)


def _back(victim_id: int | None, done: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/portal/registrants/{victim_id}?done={done}{anchor}", status_code=303)


@router.post("/registrants/{victim_id}/verify")
def verify_identity(victim: ValidRegistrant, session: SessionDep) -> RedirectResponse:
    victim_service.verify_identity(session=session, victim=victim)
    return _back(victim.id, "identity-verified")


@router.post("/registrants/{victim_id}/reset-pin", response_class=HTMLResponse)
def reset_pin(
    request: Request, victim: ValidRegistrant, session: SessionDep, staff: CurrentStaff
) -> HTMLResponse:
    if not victim.active:
        raise HTTPException(status_code=409, detail="a deactivated registrant gets no PIN")
    pin = victim_service.reset_pin(session=session, victim=victim)
    return pin_letter(request, session=session, staff=staff, victim=victim, pin=pin, new=False)


@router.post("/registrants/{victim_id}/deactivate")
def deactivate(victim: ValidRegistrant, session: SessionDep) -> RedirectResponse:
    victim_service.deactivate(session=session, victim=victim)
    return _back(victim.id, "deactivated")


@router.post("/registrants/{victim_id}/opt-out")
def opt_out(victim: ValidRegistrant, session: SessionDep) -> RedirectResponse:
    set_opt_out(session=session, victim=victim, out=True)
    return _back(victim.id, "opted-out")


@router.post("/registrants/{victim_id}/opt-in")
def opt_in(victim: ValidRegistrant, session: SessionDep) -> RedirectResponse:
    set_opt_out(session=session, victim=victim, out=False)
    return _back(victim.id, "opted-in")


@router.get("/registrants/{victim_id}/link", response_class=HTMLResponse)
def link_form(
    request: Request,
    victim: ValidRegistrant,
    session: SessionDep,
    staff: CurrentStaff,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Find the case to link: the same case search as the search box."""
    query = q.strip()
    hits = finder.find_cases(session=session, query=query) if query else []
    context = {
        "staff": staff,
        "victim": victim,
        "q": query,
        "hits": hits,
        "relationships": RELATIONSHIPS,
    }
    return render(request, "registrant_link.html", context)


@router.post("/registrants/{victim_id}/links", response_model=None)
def create_link(
    request: Request,
    victim: ValidRegistrant,
    session: SessionDep,
    staff: CurrentStaff,
    case_id: Annotated[int, Form(ge=1, le=2_147_483_647)],
    relationship: Annotated[Relationship, Form()] = Relationship.VICTIM,
    notify_email: Annotated[str, Form(max_length=3)] = "",
    notify_sms: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    case = session.get(Case, case_id)
    if case is None:
        raise HTTPException(status_code=404, detail="no such case")
    try:
        with session.begin_nested():
            # Always pending: a person verifies the relationship as a step of its own.
            victim_service.link_victim(
                session=session,
                victim=victim,
                case=case,
                relationship=relationship,
                notify_email=notify_email == "yes",
                notify_sms=notify_sms == "yes",
            )
    except IntegrityError:
        error = "This registrant is already linked to that case."
        return registrant_page(
            request,
            session=session,
            staff=staff,
            victim=victim,
            extra={"link_error": error},
            status_code=409,
        )
    return _back(victim.id, "linked", "#links-heading")


@router.post("/links/{link_id}/verify")
def verify_link(link_id: IdPath, session: SessionDep) -> RedirectResponse:
    link = session.get(VictimCaseLink, link_id)
    if link is None:
        raise HTTPException(status_code=404, detail="no such link")
    victim_service.verify_link(session=session, link=link)
    return _back(link.victim_id, "link-verified", "#links-heading")


KindPath = Annotated[ContactKind, Path()]


@router.post("/registrants/{victim_id}/contact/{kind}/send")
def send_challenge(
    victim: ValidRegistrant, kind: KindPath, verifying: VerifyingDep
) -> RedirectResponse:
    """Send a confirmation link (email) or code (phone) to the contact point again."""
    if kind not in verification.unproven(victim) or not victim.active:
        raise HTTPException(status_code=409, detail="nothing to verify")
    verifying.challenge(victim, {kind})
    return _back(victim.id, "contact-sent", "#contact-heading")


@router.post("/registrants/{victim_id}/contact/{kind}/attest", response_model=None)
def attest_contact(
    request: Request,
    victim: ValidRegistrant,
    kind: KindPath,
    session: SessionDep,
    staff: CurrentStaff,
    now: NowDep,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """A liaison vouches for the contact point, saying how: the proof records who and how."""
    if kind not in verification.unproven(victim):
        raise HTTPException(status_code=409, detail="nothing to verify")
    if not note.strip():
        error = {kind.value: "Say how you confirmed it, for example the call you made."}
        extra = {"attest_errors": error}
        return registrant_page(
            request, session=session, staff=staff, victim=victim, extra=extra, status_code=422
        )
    verification.attest(
        session=session, victim=victim, kind=kind, actor=staff.subject, note=note.strip(), now=now
    )
    return _back(victim.id, "contact-attested", "#contact-heading")
