"""Every table, imported in one place so Alembic and the tests see the whole metadata."""

from voice.auth.models import SignInLink, SignInThrottle, VictimSession
from voice.cases.models import Case, CaseEvent, Subject
from voice.disclosure.models import DisclosureRecord
from voice.holds.models import SafetyHold
from voice.notify.models import Notification
from voice.victims.models import Victim, VictimCaseLink

__all__ = [
    "Case",
    "CaseEvent",
    "DisclosureRecord",
    "Notification",
    "SafetyHold",
    "SignInLink",
    "SignInThrottle",
    "Subject",
    "Victim",
    "VictimCaseLink",
    "VictimSession",
]
