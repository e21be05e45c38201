"""Every table, imported in one place so Alembic and the tests see the whole metadata."""

from voice.auth.models import SignInLink, SignInThrottle, VictimSession
from voice.cases.models import Case, CaseEvent, Subject
from voice.disclosure.models import (
    DisclosureChainHead,
    DisclosureRecord,
    QuarantinedEvent,
    RecipientReference,
    SafetyHold,
    SafetyHoldChange,
    SecurityAlert,
    StaffMessage,
)
from voice.liaison.models import LiaisonTask
from voice.notify.models import (
    ContactSuppression,
    DeliveryReceipt,
    NoticeAcknowledgement,
    Notification,
    NotificationHold,
)
from voice.victims.models import Victim, VictimCaseLink
from voice.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)

__all__ = [
    "Case",
    "CaseEvent",
    "ContactSuppression",
    "DeliveryReceipt",
    "DisclosureChainHead",
    "DisclosureRecord",
    "LiaisonTask",
    "NoticeAcknowledgement",
    "Notification",
    "NotificationHold",
    "QuarantinedEvent",
    "RecipientReference",
    "SafetyHold",
    "SafetyHoldChange",
    "SecurityAlert",
    "SignInLink",
    "SignInThrottle",
    "StaffMessage",
    "Subject",
    "Victim",
    "VictimCaseLink",
    "VictimSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookSecret",
]
