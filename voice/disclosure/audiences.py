"""Who a disclosure is for."""

from enum import StrEnum


class Audience(StrEnum):
    VICTIM_VERIFIED = "victim_verified"
    VICTIM_PENDING = "victim_pending"
    FAMILY = "family"
    PARTNER = "partner"
    LIAISON = "liaison"
    SUPERVISOR = "supervisor"
    PRIVACY_OFFICER = "privacy_officer"
    AUDITOR = "auditor"
