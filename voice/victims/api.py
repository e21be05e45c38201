"""Liaison API: registering victims, their links to cases, and what was sent to them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from voice.api_common import NOT_FOUND, Page, get_or_404, page_params, paginate
from voice.auth.deps import CurrentStaff
from voice.cases.models import Case
from voice.deps import IdPath, SessionDep, SettingsDep
from voice.pii import keyring, rotation
from voice.victims import service, verification
from voice.victims.deps import CourierDep, NowDep
from voice.victims.models import Victim, VictimCaseLink
from voice.victims.schemas import (
    LinkCreate,
    LinkPublic,
    LinksPublic,
    LinkUpdate,
    PinIssued,
    VictimCreate,
    VictimPublic,
    VictimRegistered,
    VictimsPublic,
    VictimUpdate,
)
from voice.victims.verification_models import ContactKind

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


class Verifying:
    """Sends a confirmation link or code to each new or changed contact point. The courier
    runs as a background task, after the request's unit of work has committed the challenge."""

    def __init__(
        self,
        session: SessionDep,
        settings: SettingsDep,
        courier: CourierDep,
        now: NowDep,
        background: BackgroundTasks,
    ) -> None:
        self.session, self.settings, self.courier = session, settings, courier
        self.now, self.background = now, background

    def challenge(self, victim: Victim, kinds: set[ContactKind] | None = None) -> None:
        for kind in verification.unproven(victim):
            if kinds is not None and kind not in kinds:
                continue
            sent = verification.start(
                session=self.session, settings=self.settings, victim=victim, kind=kind, now=self.now
            )
            if sent is not None:
                self.background.add_task(self.courier.deliver, sent)


VerifyingDep = Annotated[Verifying, Depends()]


@router.post("/victims", status_code=201, summary="Register a victim; issues Victim ID and PIN")
def register(
    body: VictimCreate, session: SessionDep, staff: CurrentStaff, verifying: VerifyingDep
) -> VictimRegistered:
    victim, pin = service.register_victim(
        session=session,
        first_name=body.first_name,
        last_name=body.last_name,
        language=body.preferred_language,
        email=str(body.email) if body.email else None,
        phone=body.phone,
    )
    assert victim.victim_code is not None
    verifying.challenge(victim)
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
def update_victim(
    victim_id: IdPath, body: VictimUpdate, session: SessionDep, verifying: VerifyingDep
) -> VictimPublic:
    victim = get_or_404(session, Victim, victim_id, "victim")
    before = {ContactKind.EMAIL: victim.email, ContactKind.PHONE: victim.phone}
    try:
        service.update_victim(
            session=session, victim=victim, changes=body.model_dump(exclude_unset=True)
        )
    except service.VictimUpdateError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    after = {ContactKind.EMAIL: victim.email, ContactKind.PHONE: victim.phone}
    # Only a changed contact point is challenged: an unrelated edit (a language) must not
    # replace a link or code the victim is about to use.
    verifying.challenge(victim, {k for k in ContactKind if before[k] != after[k]})
    return public(victim)


@router.post("/victims/{victim_id}/verify", responses=NOT_FOUND, summary="Verify identity")
def verify_victim(victim_id: IdPath, session: SessionDep) -> VictimPublic:
    victim = get_or_404(session, Victim, victim_id, "victim")
    return public(service.verify_identity(session=session, victim=victim))


@router.post("/victims/{victim_id}/deactivate", responses=NOT_FOUND, summary="Deactivate")
def deactivate_victim(victim_id: IdPath, session: SessionDep) -> VictimPublic:
    victim = get_or_404(session, Victim, victim_id, "victim")
    return public(service.deactivate(session=session, victim=victim))


@router.post("/victims/{victim_id}/reset-pin", responses=NOT_FOUND, summary="Issue a new PIN")
def reset_pin(victim_id: IdPath, session: SessionDep) -> PinIssued:
    victim = get_or_404(session, Victim, victim_id, "victim")
    pin = service.reset_pin(session=session, victim=victim)
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
    return link_public(link)


@router.patch("/links/{link_id}", responses=NOT_FOUND, summary="Change a link's preferences")
def update_link(link_id: IdPath, body: LinkUpdate, session: SessionDep) -> LinkPublic:
    link = get_or_404(session, VictimCaseLink, link_id, "link")
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return link_public(service.update_link(session=session, link=link, changes=changes))


@router.post("/links/{link_id}/verify", responses=NOT_FOUND, summary="Verify the relationship")
def verify_link(link_id: IdPath, session: SessionDep) -> LinkPublic:
    link = get_or_404(session, VictimCaseLink, link_id, "link")
    return link_public(service.verify_link(session=session, link=link))


class KeyUsage(BaseModel):
    current_key_id: str
    values_per_key: dict[str, int]


@router.get("/admin/pii-keys", summary="How many encrypted values sit under each key")
def pii_keys(session: SessionDep) -> KeyUsage:
    return KeyUsage(
        current_key_id=keyring.active().current_id,
        values_per_key=rotation.key_usage(session=session),
    )
