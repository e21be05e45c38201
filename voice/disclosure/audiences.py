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


# Victims, their families and partner systems: they never learn that anything was withheld,
# nor why; staff views show both.
OUTWARD = frozenset(
    {Audience.VICTIM_VERIFIED, Audience.VICTIM_PENDING, Audience.FAMILY, Audience.PARTNER}
)
STAFF = frozenset(Audience) - OUTWARD
