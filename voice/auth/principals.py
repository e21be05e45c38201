"""Who is calling: staff, a machine client, a signed-in victim, or nobody."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    LIAISON = "liaison"
    SUPERVISOR = "supervisor"
    PRIVACY_OFFICER = "privacy_officer"
    AUDITOR = "auditor"
    ADMIN = "admin"
    # Security staff: the spillage quarantine and its alerts.
    SECURITY = "security"


class Scope(StrEnum):
    EVENTS_WRITE = "events:write"
    WEBHOOKS_MANAGE = "webhooks:manage"
    CASES_READ = "cases:read"


class PrincipalKind(StrEnum):
    ANONYMOUS = "anonymous"
    STAFF = "staff"
    MACHINE = "machine"
    VICTIM = "victim"


@dataclass(frozen=True)
class Principal:
    """The caller of one request.

    ``grants`` holds what the matrix checks against: ``role:<role>`` for staff,
    ``scope:<scope>`` for machine clients, ``victim`` for a signed-in victim.
    ``subject`` is an opaque id (staff ``sub``, client id, victim row id): safe to log.
    """

    kind: PrincipalKind
    subject: str = ""
    grants: frozenset[str] = frozenset()
    victim_id: int | None = None
    display_name: str = ""

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(g[5:]) for g in self.grants if g.startswith("role:"))


ANONYMOUS = Principal(kind=PrincipalKind.ANONYMOUS)


def staff(subject: str, name: str, roles: frozenset[Role]) -> Principal:
    return Principal(
        kind=PrincipalKind.STAFF,
        subject=subject,
        grants=frozenset(f"role:{r.value}" for r in roles),
        display_name=name,
    )


def machine(client_id: str, scopes: frozenset[str]) -> Principal:
    known = {s.value for s in Scope}
    return Principal(
        kind=PrincipalKind.MACHINE,
        subject=client_id,
        grants=frozenset(f"scope:{s}" for s in scopes if s in known),
    )


def victim(victim_id: int) -> Principal:
    return Principal(
        kind=PrincipalKind.VICTIM,
        subject=str(victim_id),
        grants=frozenset({"victim"}),
        victim_id=victim_id,
    )


def map_roles(claim_value: object, role_map: dict[str, str]) -> frozenset[Role]:
    """Turn an identity provider's role or group claim into VOICE roles.

    With no map configured, values that already name a VOICE role count as themselves.
    Anything else grants nothing: an unknown group must never widen access.
    """
    if isinstance(claim_value, str):
        values = claim_value.replace(",", " ").split()
    elif isinstance(claim_value, list):
        values = [v for v in claim_value if isinstance(v, str)]
    else:
        return frozenset()
    known = {r.value for r in Role}
    roles = set()
    for value in values:
        mapped = role_map.get(value) if role_map else value
        if mapped in known:
            roles.add(Role(mapped))
    return frozenset(roles)
