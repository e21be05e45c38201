"""Suppressed contact points: opted out of SMS, or an email address that hard-bounced."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.database import SessionStatement
from voice.notify.models import Channel, ContactSuppression, SuppressionReason
from voice.pii import keyring
from voice.victims.models import Victim

log = logging.getLogger(__name__)

# Bound parameters per query: well inside SQLite's limit for any fan-out size.
_CHUNK = 1000


def normalise(channel: Channel | str, address: str) -> str:
    address = address.strip()
    if Channel(channel) is Channel.EMAIL:
        return address.lower()
    # Phone numbers arrive as E.164 from providers; drop the spacing people type.
    return "".join(ch for ch in address if ch.isdigit() or ch == "+")


def matches(channel: Channel, address: str) -> sa.ColumnElement[bool]:
    """Victims whose stored contact point is ``address``.

    Contact points are encrypted at rest, so the match goes through their keyed blind index.
    """
    if channel is Channel.EMAIL:
        return col(Victim.email_bidx) == keyring.active().blind_index(address, kind="email")
    return col(Victim.phone_bidx) == keyring.active().blind_index(address, kind="phone")


_CACHE = "voice.notify.suppressed"


def preload(*, session: Session, emails: set[str], phones: set[str]) -> None:
    """Answer ``is_suppressed`` for these addresses from memory for the rest of the session's
    transaction (the worker's batch read), instead of one query per notice."""
    cache: dict[tuple[str, str], bool] = {}
    for channel, addresses in ((Channel.EMAIL, emails), (Channel.SMS, phones)):
        normalised = {normalise(channel, a) for a in addresses}
        found = suppressed_among(session=session, channel=channel, addresses=normalised)
        cache.update({(channel.value, a): a in found for a in normalised})
    session.info[_CACHE] = cache


def is_suppressed(*, session: Session, channel: Channel | str, address: str) -> bool:
    cached = session.info.get(_CACHE, {}).get((Channel(channel).value, normalise(channel, address)))
    if cached is not None:
        return bool(cached)
    found = session.exec(
        select(ContactSuppression.id).where(
            ContactSuppression.channel == Channel(channel).value,
            ContactSuppression.address == normalise(channel, address),
        )
    ).first()
    return found is not None


# Built once: ingest asks it for the recipients of every event.
_SUPPRESSED_AMONG = sa.select(col(ContactSuppression.address)).where(
    col(ContactSuppression.channel) == sa.bindparam("channel"),
    col(ContactSuppression.address).in_(sa.bindparam("addresses", expanding=True)),
)


def suppressed_among(*, session: Session, channel: Channel, addresses: set[str]) -> set[str]:
    """The normalised addresses of ``addresses`` that are suppressed (one query)."""
    if not addresses:
        return set()
    wanted = sorted({normalise(channel, a) for a in addresses})
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        params = {"channel": channel.value, "addresses": wanted[start : start + _CHUNK]}
        found.update(session.execute(_SUPPRESSED_AMONG, params).scalars())
    return found


# In Core (the table's own columns): ingest asks it for every event, and the ORM's handling
# of a statement over mapped attributes costs more than SQLite's answer.
_SUPPRESSION: sa.Table = ContactSuppression.__table__  # type: ignore[attr-defined]
_SUPPRESSED_PAIRS = SessionStatement(
    sa.select(_SUPPRESSION.c.channel, _SUPPRESSION.c.address).where(
        _SUPPRESSION.c.address.in_(sa.bindparam("addresses", expanding=True))
    )
)


def suppressed_pairs(
    *, session: Session, wanted: set[tuple[Channel, str]]
) -> set[tuple[Channel, str]]:
    """The (channel, normalised address) pairs of ``wanted`` that are suppressed: every
    channel in one query, as ``suppressed_among`` answers for each."""
    normalised = {(channel, normalise(channel, address)) for channel, address in wanted}
    addresses = sorted({address for _, address in normalised})
    found: set[tuple[Channel, str]] = set()
    for start in range(0, len(addresses), _CHUNK):
        params = {"addresses": addresses[start : start + _CHUNK]}
        for channel, address in _SUPPRESSED_PAIRS.execute(session, params).rows:
            pair = (Channel(channel), address)
            if pair in normalised:
                found.add(pair)
    return found


def suppress(
    *, session: Session, channel: Channel, address: str, reason: SuppressionReason
) -> bool:
    """Suppress a contact point; False if it already was."""
    if is_suppressed(session=session, channel=channel, address=address):
        return False
    try:
        with session.begin_nested():
            session.add(
                ContactSuppression(
                    channel=channel.value, address=normalise(channel, address), reason=reason.value
                )
            )
    except sa.exc.IntegrityError:
        return False  # a concurrent request suppressed it first
    log.info("%s contact point suppressed (%s)", channel.value, reason.value)
    return True


def unsuppress(
    *, session: Session, channel: Channel, address: str, reason: SuppressionReason
) -> bool:
    """Lift a suppression of the given reason only: START does not undo a hard bounce."""
    result = session.execute(
        sa.delete(ContactSuppression).where(
            col(ContactSuppression.channel) == channel.value,
            col(ContactSuppression.address) == normalise(channel, address),
            col(ContactSuppression.reason) == reason.value,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
