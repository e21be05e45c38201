"""Writing the accounting of disclosures."""

from __future__ import annotations

from sqlmodel import Session

from voice.disclosure import accounting
from voice.disclosure.filter import DisclosedView
from voice.disclosure.models import DisclosureRecord
from voice.disclosure.policy import Policy

# Why data goes out, by channel, where the caller does not say.
PURPOSES = {
    "api": "victim_self_service",
    "email": "victim_notification",
    "sms": "victim_notification",
    "webhook": "partner_notification",
}


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
    return accounting.append(
        session=session,
        values={
            "recipient_kind": recipient_kind,
            "recipient_ref": accounting.recipient_ref(
                session=session, recipient_kind=recipient_kind, recipient_id=recipient_id
            ),
            "audience": view.audience.value,
            "channel": channel,
            "purpose": purpose or PURPOSES.get(channel, "disclosure"),
            "case_id": case_id,
            "event_id": event_id,
            "notification_id": notification_id,
            "fields_released": sorted(view.released),
            "fields_withheld": [
                {"field": w.field, "rule_id": w.rule_id, "basis": w.basis} for w in view.withheld
            ],
            "policy_version": policy.version,
            "policy_sha256": policy.sha256,
        },
    )
