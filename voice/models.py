"""Every table, imported in one place so Alembic and the tests see the whole metadata."""

from voice.audit.models import DisclosureChainHead, DisclosureRecord, RecipientReference
from voice.auth.models import SignInLink, SignInThrottle, VictimSession
from voice.auth.staff_sessions import StaffSession
from voice.cases.models import Case, CaseEvent, Subject
from voice.holds.models import SafetyHold, SafetyHoldChange
from voice.ingest.models import QuarantinedEvent, SecurityAlert, SourceFeed
from voice.liaison.models import LiaisonTask
from voice.messages.models import StaffMessage
from voice.notify.models import (
    CircuitBreaker,
    ContactSuppression,
    DeliveryReceipt,
    MassEventPause,
    NoticeAcknowledgement,
    Notification,
)
from voice.victims.access_log import RegistrantAccess
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
    "CircuitBreaker",
    "ContactSuppression",
    "DeliveryReceipt",
    "DisclosureChainHead",
    "DisclosureRecord",
    "LiaisonTask",
    "MassEventPause",
    "NoticeAcknowledgement",
    "Notification",
    "QuarantinedEvent",
    "RecipientReference",
    "RegistrantAccess",
    "SafetyHold",
    "SafetyHoldChange",
    "SecurityAlert",
    "SignInLink",
    "SignInThrottle",
    "SourceFeed",
    "StaffMessage",
    "StaffSession",
    "Subject",
    "Victim",
    "VictimCaseLink",
    "VictimSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookSecret",
]
