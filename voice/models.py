"""Every table, imported in one place so Alembic and the tests see the whole metadata."""

from voice.audit.models import DisclosureChainHead, DisclosureRecord, RecipientReference
from voice.auth.models import SignInLink, SignInThrottle, VictimSession
from voice.auth.staff_sessions import StaffSession
from voice.cases.models import Case, CaseEvent, Subject
from voice.holds.models import SafetyHold, SafetyHoldChange
from voice.ingest.models import QuarantinedEvent, SecurityAlert, SourceFeed, StaffStatusEntry
from voice.inquiries.models import (
    AnswerTemplate,
    Inquiry,
    InquiryAnswer,
    InquiryEntry,
    ReferralProvider,
)
from voice.liaison.models import LiaisonTask
from voice.messages.models import StaffMessage
from voice.notify.inbound_messages import InboundMessage
from voice.notify.models import (
    CircuitBreaker,
    ContactSuppression,
    DeliveryReceipt,
    MassEventPause,
    NoticeAcknowledgement,
    Notification,
)
from voice.selfservice.questions import VictimQuestion
from voice.victims.access_log import RegistrantAccess
from voice.victims.models import Victim, VictimCaseLink
from voice.victims.verification_models import ContactChallenge, ContactProof
from voice.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)

__all__ = [
    "AnswerTemplate",
    "Case",
    "CaseEvent",
    "CircuitBreaker",
    "ContactChallenge",
    "ContactProof",
    "ContactSuppression",
    "DeliveryReceipt",
    "DisclosureChainHead",
    "DisclosureRecord",
    "InboundMessage",
    "Inquiry",
    "InquiryAnswer",
    "InquiryEntry",
    "LiaisonTask",
    "MassEventPause",
    "NoticeAcknowledgement",
    "Notification",
    "QuarantinedEvent",
    "RecipientReference",
    "ReferralProvider",
    "RegistrantAccess",
    "SafetyHold",
    "SafetyHoldChange",
    "SecurityAlert",
    "SignInLink",
    "SignInThrottle",
    "SourceFeed",
    "StaffMessage",
    "StaffSession",
    "StaffStatusEntry",
    "Subject",
    "Victim",
    "VictimCaseLink",
    "VictimQuestion",
    "VictimSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookSecret",
]
