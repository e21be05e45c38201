"""The signed-in victim, for routes that need more than the id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice.auth.deps import current_victim_id
from voice.database import read_only, utcnow
from voice.deps import get_engine
from voice.victims.models import Victim
from voice.victims.verification import Courier


def current_victim(
    victim_id: Annotated[int, Depends(current_victim_id)],
    engine: Annotated[Engine, Depends(get_engine)],
) -> Victim:
    """Read in a short read-only session of its own, so the route's session does not open a
    transaction (on SQLite, the write lock) while the request waits for its worker thread."""
    with Session(read_only(engine), expire_on_commit=False) as session:
        victim = session.get(Victim, victim_id)
    if victim is None or not victim.active:
        raise HTTPException(status_code=401, detail="victim sign-in is required")
    return victim


CurrentVictim = Annotated[Victim, Depends(current_victim)]


async def get_now() -> datetime:
    """The request's clock, for expiries it decides; tests override this dependency."""
    return utcnow()


async def get_courier(request: Request) -> Courier:
    """Delivers contact-point challenges; the composition root puts one on the app."""
    courier: Courier = request.app.state.contact_courier
    return courier


NowDep = Annotated[datetime, Depends(get_now)]
CourierDep = Annotated[Courier, Depends(get_courier)]
