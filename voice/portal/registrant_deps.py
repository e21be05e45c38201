"""The registrant a portal route is about: the 404 in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from sqlmodel import Session

from voice.deps import IdPath, SessionDep
from voice.notify import contacts
from voice.notify.models import Channel, SuppressionReason
from voice.victims.models import Victim


def valid_registrant(victim_id: IdPath, session: SessionDep) -> Victim:
    victim = session.get(Victim, victim_id)
    if victim is None:
        raise HTTPException(status_code=404, detail="no such registrant")
    return victim


ValidRegistrant = Annotated[Victim, Depends(valid_registrant)]


def contact_points(victim: Victim) -> list[tuple[Channel, str]]:
    points = [(Channel.EMAIL, victim.email), (Channel.SMS, victim.phone)]
    return [(channel, address) for channel, address in points if address]


def opted_out(*, session: Session, victim: Victim) -> bool:
    """Whether every contact point the registrant has is suppressed (opted out or bounced)."""
    points = contact_points(victim)
    return bool(points) and all(
        contacts.is_suppressed(session=session, channel=channel, address=address)
        for channel, address in points
    )


def set_opt_out(*, session: Session, victim: Victim, out: bool) -> None:
    # Suppressions are kept per address, the way STOP works: opting back in lifts only the
    # opt-out, never a hard bounce, which stays until the address is changed.
    change = contacts.suppress if out else contacts.unsuppress
    for channel, address in contact_points(victim):
        change(
            session=session, channel=channel, address=address, reason=SuppressionReason.OPTED_OUT
        )
