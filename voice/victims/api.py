"""Liaison API: registering victims, their links to cases, and what was sent to them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from voice.api_common import NOT_FOUND, Page, get_or_404, page_params, paginate
from voice.cases.models import Case
from voice.database import utcnow
from voice.deps import CurrentStaff, IdPath, SessionDep
from voice.notify.models import Notification
from voice.pii import keyring
from voice.victims import service
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink
from voice.victims.schemas import (
    LinkCreate,
    LinkPublic,
    LinksPublic,
    LinkUpdate,
    NotificationPublic,
    NotificationsPublic,
    PinIssued,
    VictimCreate,
    VictimPublic,
    VictimRegistered,
    VictimsPublic,
    VictimUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["victims"])
PageDep = Annotated[Page, Depends(page_params)]


def public(victim: Victim) -> VictimPublic:
    assert victim.id is not None
    return VictimPublic(
        id=victim.id,
        victim_id=victim.victim_code,
        first_name=victim.first_name,
        last_name=victim.last_name,
        preferred_language=victim.preferred_language,
        email=victim.email,
        email_verified=victim.email_verified,
        phone=victim.phone,
        phone_verified=victim.phone_verified,
        verified_at=victim.verified_at,
        active=victim.active,
        created_at=victim.created_at,
    )


def link_public(link: VictimCaseLink) -> LinkPublic:
    return LinkPublic.model_validate(link, from_attributes=True)


@router.post("/victims", status_code=201, summary="Register a victim; issues Victim ID and PIN")
def register(body: VictimCreate, session: SessionDep, staff: CurrentStaff) -> VictimRegistered:
    victim, pin = service.register_victim(
        session=session,
        first_name=body.first_name,
        last_name=body.last_name,
        language=body.preferred_language,
        email=str(body.email) if body.email else None,
        phone=body.phone,
    )
    session.commit()
    assert victim.victim_code is not None
    return VictimRegistered(victim=public(victim), victim_id=victim.victim_code, pin=pin)


@router.get("/victims", summary="Find victims: exact email or phone (blind index), or list all")
def list_victims(
    session: SessionDep,
    page: PageDep,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    victim_id: Annotated[str | None, Query(max_length=32)] = None,
) -> VictimsPublic:
    query = select(Victim).order_by(col(Victim.id))
    ring = keyring.active()
    if email:
        query = query.where(Victim.email_bidx == ring.blind_index(email, kind="email"))
    if phone:
        query = query.where(Victim.phone_bidx == ring.blind_index(phone, kind="phone"))
    if victim_id:
        found = service.find_by_code(session=session, victim_code=victim_id)
        query = query.where(Victim.id == (found.id if found else -1))
    rows, count = paginate(session, query, page)
    return VictimsPublic(data=[public(v) for v in rows], count=count)


@router.get("/victims/{victim_id}", responses=NOT_FOUND, summary="One victim")
def get_victim(victim_id: IdPath, session: SessionDep) -> VictimPublic:
    return public(get_or_404(session, Victim, victim_id, "victim"))


@router.patch("/victims/{victim_id}", responses=NOT_FOUND, summary="Update a victim")
def update_victim(victim_id: IdPath, body: VictimUpdate, session: SessionDep) -> VictimPublic:
    victim = get_or_404(session, Victim, victim_id, "victim")
    changes = body.model_dump(exclude_unset=True)
    # null clears a contact point; a name or language cannot be cleared.
    cleared = sorted(
        n
        for n in ("first_name", "last_name", "preferred_language")
        if n in changes and changes[n] is None
    )
    if cleared:
        raise HTTPException(status_code=422, detail=f"cannot be cleared: {', '.join(cleared)}")
    if "email" in changes and changes["email"] != victim.email:
        victim.email_verified = False  # a new address must be proven again
    if "phone" in changes and changes["phone"] != victim.phone:
        victim.phone_verified = False
    for name, value in changes.items():
        setattr(victim, name, str(value) if name == "email" and value else value)
    session.add(victim)
    session.commit()
    return public(victim)


@router.post("/victims/{victim_id}/verify", responses=NOT_FOUND, summary="Verify identity")
def verify_victim(victim_id: IdPath, session: SessionDep) -> VictimPublic:
    victim = get_or_404(session, Victim, victim_id, "victim")
    victim.verified_at = victim.verified_at or utcnow()
    session.add(victim)
    session.commit()
    return public(victim)


@router.post("/victims/{victim_id}/deactivate", responses=NOT_FOUND, summary="Deactivate")
def deactivate_victim(victim_id: IdPath, session: SessionDep) -> VictimPublic:
    victim = get_or_404(session, Victim, victim_id, "victim")
    victim.active = False  # stops sign-in, sessions and notifications at once
    session.add(victim)
    session.commit()
    return public(victim)


@router.post("/victims/{victim_id}/reset-pin", responses=NOT_FOUND, summary="Issue a new PIN")
def reset_pin(victim_id: IdPath, session: SessionDep) -> PinIssued:
    victim = get_or_404(session, Victim, victim_id, "victim")
    pin = service.reset_pin(session=session, victim=victim)
    session.commit()
    assert victim.victim_code is not None
    return PinIssued(victim_id=victim.victim_code, pin=pin)


@router.get("/victims/{victim_id}/links", responses=NOT_FOUND, summary="A victim's links")
def list_links(victim_id: IdPath, session: SessionDep, page: PageDep) -> LinksPublic:
    get_or_404(session, Victim, victim_id, "victim")
    query = (
        select(VictimCaseLink)
        .where(VictimCaseLink.victim_id == victim_id)
        .order_by(col(VictimCaseLink.id))
    )
    rows, count = paginate(session, query, page)
    return LinksPublic(data=[link_public(r) for r in rows], count=count)


@router.post(
    "/victims/{victim_id}/links",
    status_code=201,
    responses={**NOT_FOUND, 409: {"description": "already linked"}},
    summary="Link a victim to a case (pending until verified)",
)
def create_link(victim_id: IdPath, body: LinkCreate, session: SessionDep) -> LinkPublic:
    victim = get_or_404(session, Victim, victim_id, "victim")
    case = get_or_404(session, Case, body.case_id, "case")
    try:
        with session.begin_nested():
            # Always pending: only the verify route turns a link into a verified one, so a new
            # link gets the victim_pending view until a liaison has checked the relationship.
            link = service.link_victim(
                session=session,
                victim=victim,
                case=case,
                relationship=body.relationship,
                verified=False,
                notify_email=body.notify_email,
                notify_sms=body.notify_sms,
            )
    except IntegrityError as exc:
        raise HTTPException(status_code=409, detail="the victim is already linked") from exc
    session.commit()
    return link_public(link)


@router.patch("/links/{link_id}", responses=NOT_FOUND, summary="Change a link's preferences")
def update_link(link_id: IdPath, body: LinkUpdate, session: SessionDep) -> LinkPublic:
    link = get_or_404(session, VictimCaseLink, link_id, "link")
    for name, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(link, name, value)
    session.add(link)
    session.commit()
    return link_public(link)


@router.post("/links/{link_id}/verify", responses=NOT_FOUND, summary="Verify the relationship")
def verify_link(link_id: IdPath, session: SessionDep) -> LinkPublic:
    link = get_or_404(session, VictimCaseLink, link_id, "link")
    if link.verification_status != VerificationStatus.VERIFIED:
        link.verification_status = VerificationStatus.VERIFIED
        link.verified_at = utcnow()
        session.add(link)
        session.commit()
    return link_public(link)


@router.get(
    "/victims/{victim_id}/notifications", responses=NOT_FOUND, summary="Notices sent to a victim"
)
def victim_notifications(
    victim_id: IdPath, session: SessionDep, page: PageDep
) -> NotificationsPublic:
    get_or_404(session, Victim, victim_id, "victim")
    query = (
        select(Notification)
        .join(VictimCaseLink, col(VictimCaseLink.id) == col(Notification.link_id))
        .where(VictimCaseLink.victim_id == victim_id)
        .order_by(col(Notification.id).desc())
    )
    rows, count = paginate(session, query, page)
    return NotificationsPublic(
        data=[NotificationPublic.model_validate(r, from_attributes=True) for r in rows], count=count
    )
