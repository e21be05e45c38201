"""Writing the accounting of disclosures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple, Protocol

from sqlmodel import Session

from voice.audit import chain as accounting
from voice.audit.models import DisclosureRecord


class Withheld(Protocol):
    @property
    def field(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def basis(self) -> str: ...


class DisclosedView(Protocol):
    """What the accounting reads of a release (``voice.disclosure.filter.DisclosedView``).

    A protocol rather than an import: the accounting sits below the disclosure filter, which
    writes to it, and must not depend on it in turn.
    """

    @property
    def audience(self) -> Enum: ...
    @property
    def released(self) -> Mapping[str, Any]: ...
    @property
    def withheld(self) -> Sequence[Withheld]: ...


class Policy(Protocol):
    """The policy's identity, as every accounting record carries it."""

    @property
    def version(self) -> str: ...
    @property
    def sha256(self) -> str: ...


# Why data goes out, by channel, where the caller does not say.
PURPOSES = {
    "api": "victim_self_service",
    "email": "victim_notification",
    "sms": "victim_notification",
    "webhook": "partner_notification",
}


@dataclass(frozen=True)
class Release:
    """One disclosed view of one case (or event) in a batch of releases to one recipient."""

    view: DisclosedView
    case_id: int
    event_id: int | None = None
    notification_id: int | None = None


class _Fields(NamedTuple):
    view: DisclosedView
    released: list[str]
    withheld: list[dict[str, str]]


# What the accounting records of a view's fields, by view: the self-service lookup releases the
# same kept views over and over (voice/selfservice/service.py), and listing a view's fields
# cost more than the rest of its record. The lists are shared by every record of the view and
# never changed. The view is held with them, so its id cannot name another view.
_FIELDS: dict[int, _Fields] = {}
_FIELDS_KEPT = 4096


def _fields(view: DisclosedView) -> _Fields:
    found = _FIELDS.get(id(view))
    if found is not None and found.view is view:
        return found
    found = _Fields(
        view,
        sorted(view.released),
        [{"field": w.field, "rule_id": w.rule_id, "basis": w.basis} for w in view.withheld],
    )
    if len(_FIELDS) >= _FIELDS_KEPT:
        _FIELDS.clear()
    _FIELDS[id(view)] = found
    return found


def _values(
    release: Release, policy: Policy, recipient_kind: str, ref: str, channel: str, purpose: str
) -> dict[str, Any]:
    fields = _fields(release.view)
    return {
        "recipient_kind": recipient_kind,
        "recipient_ref": ref,
        "audience": release.view.audience.value,
        "channel": channel,
        "purpose": purpose,
        "case_id": release.case_id,
        "event_id": release.event_id,
        "notification_id": release.notification_id,
        "fields_released": fields.released,
        "fields_withheld": fields.withheld,
        "policy_version": policy.version,
        "policy_sha256": policy.sha256,
    }


@dataclass(frozen=True)
class Disclosures:
    """Releases to one recipient, to be accounted for together."""

    releases: Sequence[Release]
    policy: Policy
    recipient_kind: str
    recipient_id: str
    channel: str
    purpose: str | None = None
    # The recipient's reference, when the caller made sure of it beforehand (``references``).
    recipient_ref: str | None = None


def references(
    *, session: Session, recipients: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The references of these (kind, id) recipients, created for those who have none yet.

    A sender can make sure of them before it sends, in a transaction of its own, so that the
    commit recording a hand-over (which its send thread waits for) need not look them up.
    """
    return accounting.recipient_refs(session=session, recipients=recipients)


def accounting_rows(
    *, session: Session, disclosures: Disclosures, refs: dict[tuple[str, str], str] | None = None
) -> list[dict[str, Any]]:
    """The accounting rows (all but the chain's columns) for ``disclosures``.

    Takes the chain's lock (creating the recipient's reference needs it), so call it only in
    the transaction that appends the rows. ``refs`` remembers recipients' references across
    calls in that same transaction.
    """
    if not disclosures.releases:
        return []
    recipient = (disclosures.recipient_kind, disclosures.recipient_id)
    ref = refs.get(recipient) if refs is not None else None
    if ref is None:
        ref = accounting.recipient_ref(
            session=session, recipient_kind=recipient[0], recipient_id=recipient[1]
        )
        if refs is not None:
            refs[recipient] = ref
    why = disclosures.purpose or PURPOSES.get(disclosures.channel, "disclosure")
    return [
        _values(
            release,
            disclosures.policy,
            disclosures.recipient_kind,
            ref,
            disclosures.channel,
            why,
        )
        for release in disclosures.releases
    ]


def record_all(*, session: Session, batch: Sequence[Disclosures]) -> None:
    """Account for releases to many recipients at once: one query for their references, one
    insert for every record, one move of the chains' heads."""

    def rows_for(refs: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for disclosures in batch:
            rows.extend(accounting_rows(session=session, disclosures=disclosures, refs=refs))
        return rows

    given = [d for d in batch if d.releases]
    accounting.append_for(
        session=session,
        recipients=[(d.recipient_kind, d.recipient_id) for d in given],
        known={
            (d.recipient_kind, d.recipient_id): d.recipient_ref for d in given if d.recipient_ref
        },
        rows_for=rows_for,
    )


def record_disclosures(
    *,
    session: Session,
    releases: Sequence[Release],
    policy: Policy,
    recipient_kind: str,
    recipient_id: str,
    channel: str,
    purpose: str | None = None,
) -> None:
    """Account for several releases to one recipient at once (one reference, one insert)."""
    disclosures = Disclosures(releases, policy, recipient_kind, recipient_id, channel, purpose)
    accounting.append_many(
        session=session, rows=accounting_rows(session=session, disclosures=disclosures)
    )


def record_disclosure(
    *,
    session: Session,
    view: DisclosedView,
    policy: Policy,
    recipient_kind: str,
    recipient_id: str,
    channel: str,
    case_id: int,
    event_id: int | None = None,
    notification_id: int | None = None,
    purpose: str | None = None,
) -> DisclosureRecord:
    """Account for one release; the recipient is stored only as an opaque reference."""
    ref = accounting.recipient_ref(
        session=session, recipient_kind=recipient_kind, recipient_id=recipient_id
    )
    release = Release(view, case_id, event_id, notification_id)
    why = purpose or PURPOSES.get(channel, "disclosure")
    return accounting.append(
        session=session, values=_values(release, policy, recipient_kind, ref, channel, why)
    )
