"""Writing the accounting of disclosures."""

from __future__ import annotations

from sqlmodel import Session

from voice.disclosure.filter import DisclosedView
from voice.disclosure.models import DisclosureRecord
from voice.disclosure.policy import Policy


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
) -> DisclosureRecord:
    record = DisclosureRecord(
        recipient_kind=recipient_kind,
        recipient_id=recipient_id,
        audience=view.audience.value,
        channel=channel,
        case_id=case_id,
        event_id=event_id,
        notification_id=notification_id,
        fields_released=sorted(view.released),
        fields_withheld=[{"field": w.field, "reason": w.reason} for w in view.withheld],
        policy_version=policy.version,
        policy_sha256=policy.sha256,
    )
    session.add(record)
    session.flush()
    return record
