"""The one door out: every release of case data to a victim, a partner or a template.

``release`` does all of a release: it loads the subject and the case, checks safety holds,
builds the filter's record, filters it for the audience, and, when a recipient is given,
accounts for it in the same transaction. Nothing outside this package calls the filter; an
import-linter contract in pyproject.toml holds that.

Two callers account later, on purpose, and say so where they do: the outbox worker accounts
for a notice only once its provider has accepted it (``voice.notify.tasks``), and the
self-service read hands its accounting to the group-commit writer and answers only once it has
committed (``voice.selfservice.service``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from voice.audit import service as audit_service
from voice.cases.fields import CaseState, SubjectState
from voice.cases.models import Case, CaseEvent, Subject
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import DisclosedView, disclose
from voice.disclosure.policy import Policy
from voice.disclosure.records import (
    CASE_COLUMNS,
    SUBJECT_COLUMNS,
    case_record,
    case_record_of,
    event_record,
    payload_record,
)
from voice.holds import service as holds_service

__all__ = [
    "CASE_COLUMNS",
    "SUBJECT_COLUMNS",
    "Audience",
    "DisclosedView",
    "Recipient",
    "explain",
    "release",
    "release_row",
]


@dataclass(frozen=True)
class Recipient:
    """Who receives a release, through which channel and why: what the accounting records.

    ``id`` is the recipient's own id (a victim's row id, a partner's client id); the accounting
    stores only an opaque reference to it.
    """

    kind: str
    id: str
    channel: str
    purpose: str | None = None


def release(
    *,
    session: Session,
    policy: Policy,
    audience: Audience,
    case: Case | None = None,
    event: CaseEvent | None = None,
    recipient: Recipient | None = None,
    notification_id: int | None = None,
    held: bool | None = None,
    folded: tuple[SubjectState, CaseState] | None = None,
) -> DisclosedView:
    """Release a case's current state, or what one event says, to ``audience``.

    Give ``case`` or ``event``. With a ``recipient``, the release is accounted for in
    ``session`` before this returns. ``held`` is the case's safety-hold state when the caller
    read it in this same transaction (bulk ingest reads a batch's holds at once); without it,
    it is read here. ``folded`` is an event's subject and case as the caller's fold left them
    in this transaction, not yet written (bulk ingest folds a batch in memory and writes each
    row once); without it, they are read here.
    """
    if (case is None) == (event is None):
        raise ValueError("release needs exactly one of a case or an event")
    subject: SubjectState
    state: CaseState
    if folded is not None:
        subject, state = folded
        if event is None or state.id != event.case_id or subject.id != state.subject_id:
            raise ValueError("folded state goes with its own event's subject and case only")
    else:
        if event is not None:
            case = session.get_one(Case, event.case_id)
        assert case is not None
        subject, state = session.get_one(Subject, case.subject_id), case
    case_id = state.id
    assert case_id is not None
    if held is None:
        held = holds_service.is_held(session=session, case_id=case_id)
    record = (
        event_record(event, subject, state, safety_hold=held)
        if event is not None
        else case_record(subject, state, safety_hold=held)
    )
    view = disclose(record, audience=audience, policy=policy)
    if recipient is not None:
        audit_service.record_disclosure(
            session=session,
            view=view,
            policy=policy,
            recipient_kind=recipient.kind,
            recipient_id=recipient.id,
            channel=recipient.channel,
            case_id=case_id,
            event_id=event.id if event is not None else None,
            notification_id=notification_id,
            purpose=recipient.purpose,
        )
    return view


def release_row(
    subject: Mapping[str, Any],
    case: Mapping[str, Any],
    *,
    held: bool,
    audience: Audience,
    policy: Policy,
) -> DisclosedView:
    """``release`` for a read that fetched its rows itself, in one prebuilt statement.

    ``subject`` and ``case`` hold the ``SUBJECT_COLUMNS`` and ``CASE_COLUMNS`` values, and
    ``held`` the case's hold state read in the same snapshot. The caller accounts for the view
    before it answers.
    """
    record = case_record_of(subject, case, safety_hold=held)
    return disclose(record, audience=audience, policy=policy)


def explain(
    payload: Mapping[str, Any], *, audience: Audience, policy: Policy, safety_hold: bool = False
) -> DisclosedView:
    """What the filter would release of a raw event: for staff tools that explain the policy.

    Nothing leaves through this: it answers the question "what would go out, and why not".
    """
    return disclose(
        payload_record(payload, safety_hold=safety_hold), audience=audience, policy=policy
    )
