"""Liaison API: a victim's contact points, proving them, and (re)sending their link or code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from voice.api_common import NOT_FOUND, get_or_404
from voice.auth.deps import CurrentStaff
from voice.deps import IdPath, SessionDep, SettingsDep
from voice.liaison import contact_tasks
from voice.victims import verification
from voice.victims.deps import CourierDep, NowDep
from voice.victims.models import Victim
from voice.victims.verification_models import ContactKind

router = APIRouter(prefix="/api/v1", tags=["victims"])
_NO_CONTACT: dict[int | str, dict[str, Any]] = {
    409: {"description": "the victim has no such contact point, or it is proven"}
}


class Attestation(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"note": "Called the victim on this number; they confirmed it is theirs."}]
        },
    )

    note: str = Field(min_length=1, max_length=2000, description="how it was confirmed")


class ContactProofPublic(BaseModel):
    kind: str
    method: str = Field(description="email_link, sms_code, sms_reply or staff_attestation")
    actor: str = Field(description="'victim', or the staff member who attested it")
    note: str | None
    proven_at: datetime


class ContactPointPublic(BaseModel):
    kind: str
    address: str | None
    verified: bool


class ContactPointsPublic(BaseModel):
    data: list[ContactPointPublic]
    proofs: list[ContactProofPublic]


class Accepted(BaseModel):
    detail: str


def _points(session: SessionDep, victim: Victim) -> ContactPointsPublic:
    assert victim.id is not None
    return ContactPointsPublic(
        data=[
            ContactPointPublic(kind="email", address=victim.email, verified=victim.email_verified),
            ContactPointPublic(kind="phone", address=victim.phone, verified=victim.phone_verified),
        ],
        proofs=[
            ContactProofPublic.model_validate(p, from_attributes=True)
            for p in verification.proofs(session=session, victim_id=victim.id)
        ],
    )


@router.get(
    "/victims/{victim_id}/contact-points",
    responses=NOT_FOUND,
    summary="A victim's contact points: proven or not, and who proved each, when and how",
)
def contact_points(victim_id: IdPath, session: SessionDep) -> ContactPointsPublic:
    return _points(session, get_or_404(session, Victim, victim_id, "victim"))


@router.post(
    "/victims/{victim_id}/contact-points/{kind}/attest",
    status_code=201,
    responses={**NOT_FOUND, **_NO_CONTACT},
    summary="Attest a contact point, e.g. after a phone call with the victim",
)
def attest(
    victim_id: IdPath,
    kind: ContactKind,
    body: Attestation,
    session: SessionDep,
    settings: SettingsDep,
    staff: CurrentStaff,
    now: NowDep,
) -> ContactProofPublic:
    victim = get_or_404(session, Victim, victim_id, "victim")
    try:
        proof = verification.attest(
            session=session, victim=victim, kind=kind, actor=staff.subject, note=body.note, now=now
        )
    except verification.VerificationRefused as exc:
        raise HTTPException(status_code=409, detail=f"the victim has no {kind.value}") from exc
    contact_tasks.reconcile_victim(session=session, settings=settings, victim=victim, now=now)
    return ContactProofPublic.model_validate(proof, from_attributes=True)


@router.post(
    "/victims/{victim_id}/contact-points/{kind}/send-verification",
    status_code=202,
    responses={**NOT_FOUND, **_NO_CONTACT},
    summary="Send a new confirmation link (email) or code (phone); earlier ones stop working",
)
def send_verification(
    victim_id: IdPath,
    kind: ContactKind,
    session: SessionDep,
    settings: SettingsDep,
    courier: CourierDep,
    now: NowDep,
    background: BackgroundTasks,
) -> Accepted:
    victim = get_or_404(session, Victim, victim_id, "victim")
    challenge = verification.start(
        session=session, settings=settings, victim=victim, kind=kind, now=now
    )
    if challenge is None:
        raise HTTPException(
            status_code=409, detail=f"the victim has no unconfirmed {kind.value} to confirm"
        )
    background.add_task(courier.deliver, challenge)
    return Accepted(detail=f"a new {'link' if kind is ContactKind.EMAIL else 'code'} is on its way")
