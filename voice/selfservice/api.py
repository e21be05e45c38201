"""Victim self-service: sign-in (Victim ID + PIN, or a one-time emailed link) and reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from voice.audit.group_commit import AccountingWriter
from voice.auth import access, victim_sessions
from voice.auth.credentials import hash_token
from voice.auth.deps import CurrentVictimId, principal_of, victim_id_of
from voice.deps import SessionDep, SettingsDep
from voice.disclosure.policy import Policy
from voice.errors import refused
from voice.notify.adapters.base import EmailSender
from voice.selfservice import service
from voice.selfservice.links import send_sign_in_link
from voice.selfservice.lookup_json import cases_json
from voice.victims import signin as victim_signin

router = APIRouter(prefix="/api/v1/self-service", tags=["self-service"])
_bearer = HTTPBearer(auto_error=False)


class SignIn(BaseModel):
    victim_id: str = Field(min_length=1, max_length=32, examples=["V-7K3M-Q9PX"])
    pin: str = Field(min_length=1, max_length=32, examples=["20261101"])


class LinkRequested(BaseModel):
    victim_id: str = Field(min_length=1, max_length=32, examples=["V-7K3M-Q9PX"])


class LinkRedeem(BaseModel):
    token: str = Field(min_length=1, max_length=128)


class SessionPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth2 token type, not a secret)
    expires_at: datetime

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "access_token": "vss_3q2x...",
                    "token_type": "bearer",
                    "expires_at": "2026-11-23T10:30:00Z",
                }
            ]
        }
    }


class Accepted(BaseModel):
    detail: str


class LinkedCasePublic(BaseModel):
    case_id: int
    relationship: str
    verified: bool
    subject: dict[str, Any]
    case: dict[str, Any]
    # Set when nothing about the case can be shown now: the policy's neutral message.
    message: str | None = None


class LinkedCasesPublic(BaseModel):
    data: list[LinkedCasePublic]
    count: int


_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"description": "wrong, unknown or locked: one answer for all three"}
}
_THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"description": "too many attempts from this address"}
}
LINK_SENT = "If that Victim ID has a verified email address, a sign-in link is on its way."


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _refusal(exc: victim_signin.SignInRefused) -> HTTPException:
    if exc.reason == "address":
        return HTTPException(
            status_code=429,
            detail="too many attempts; try again later",
            headers={"Retry-After": "900"},
        )
    return HTTPException(
        status_code=401, detail="the Victim ID or PIN is not right, or sign-in is locked"
    )


@router.post(
    "/sign-in",
    response_model=SessionPublic,
    summary="Sign in with a Victim ID and PIN",
    responses={**_REFUSED, **_THROTTLED},
)
def sign_in(
    body: SignIn, request: Request, session: SessionDep, settings: SettingsDep
) -> SessionPublic | JSONResponse:
    try:
        issued = victim_signin.sign_in_with_pin(
            session=session,
            victim_code=body.victim_id,
            pin=body.pin,
            address=_address(request),
            settings=settings,
        )
    except victim_signin.SignInRefused as exc:
        # Answered, not raised: the failure counts, so the request's unit of work commits it.
        return refused(_refusal(exc))
    return SessionPublic(access_token=issued.token, expires_at=issued.expires_at)


@router.post(
    "/sign-in-link",
    status_code=202,
    response_model=Accepted,
    summary="Email a one-time sign-in link to the victim's verified address",
    responses=_THROTTLED,
)
def request_sign_in_link(
    body: LinkRequested,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> Accepted | JSONResponse:
    try:
        wanted = victim_signin.request_link(
            session=session,
            victim_code=body.victim_id,
            address=_address(request),
            settings=settings,
        )
    except victim_signin.SignInRefused as exc:
        return refused(_refusal(exc))  # as above: the attempt counts
    if wanted.email is not None:
        sender: EmailSender = request.app.state.sign_in_email
        background.add_task(
            send_sign_in_link,
            sender=sender,
            settings=settings,
            to=wanted.email,
            token=wanted.token,
            language=wanted.language,
        )
    return Accepted(detail=LINK_SENT)


@router.post(
    "/sign-in-link/redeem",
    summary="Exchange a one-time sign-in link's token for a session",
    responses=_REFUSED,
)
def redeem_sign_in_link(
    body: LinkRedeem, session: SessionDep, settings: SettingsDep
) -> SessionPublic:
    try:
        issued = victim_signin.redeem_link(session=session, token=body.token, settings=settings)
    except victim_signin.SignInRefused as exc:
        raise _refusal(exc) from exc
    return SessionPublic(access_token=issued.token, expires_at=issued.expires_at)


@router.post("/sign-out", status_code=204, summary="End the victim's session")
def sign_out(
    victim_id: CurrentVictimId,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Response:
    if credentials is not None:
        victim_signin.sign_out(session=session, token=credentials.credentials)
    return Response(status_code=204)


@router.get(
    "/cases",
    response_model=LinkedCasesPublic,
    summary="The cases linked to the signed-in victim, as disclosed to them",
    responses=_REFUSED,
)
async def my_cases(request: Request) -> Response:
    # The busiest self-service route, so no worker thread is held for it: the read runs
    # where database.read_rows puts it (on this loop, on either database), and the answer waits
    # for the accounting's commit.
    # Each case comes encoded with its view (lookup_json), so the answer only joins them.
    # The caller, engine, writer and policy come straight from the request and the app's
    # state rather than as a dependency each: FastAPI resolves every dependency per request,
    # and for this route that had cost more than the read itself.
    victim_id = victim_id_of(principal_of(request))
    state = request.app.state
    engine: Engine = state.engine
    writer: AccountingWriter = state.accounting_writer
    policy: Policy = state.policy
    token = access.victim_session_token(request)
    try:
        views = await service.read_linked_cases(
            engine=engine, writer=writer, victim_id=victim_id, policy=policy, session_token=token
        )
    except service.SessionEnded:
        # Ended (elsewhere) since the access check remembered it: forget it here too, and
        # answer what any ended session gets.
        victim_sessions.forget(token_hash=hash_token(token or ""))
        raise HTTPException(
            status_code=401,
            detail="authentication is required",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    return Response(cases_json([v.json for v in views]), media_type="application/json")
