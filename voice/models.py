"""Every table, imported in one place so Alembic and the tests see the whole metadata."""

from voice.cases.models import Case, CaseEvent, Subject
from voice.disclosure.models import (
    DisclosureRecord,
    QuarantinedEvent,
    RecipientReference,
    SafetyHold,
    SafetyHoldChange,
    SecurityAlert,
    StaffMessage,
)
from voice.notify.models import Notification
from voice.victims.models import Victim, VictimCaseLink

__all__ = [
    "Case",
    "CaseEvent",
    "DisclosureRecord",
    "Notification",
    "QuarantinedEvent",
    "RecipientReference",
    "SafetyHold",
    "SafetyHoldChange",
    "SecurityAlert",
    "StaffMessage",
    "Subject",
    "Victim",
    "VictimCaseLink",
]
