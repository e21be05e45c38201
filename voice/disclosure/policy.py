"""Loading the disclosure policy from ``policies/``.

The policy is validated once at load and turned into frozen sets, so each decision is a set
lookup. Its version and sha256 go into every disclosure record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from voice.disclosure.audiences import Audience

_PACKAGE_DIR = Path(__file__).resolve().parents[1]


class PolicyError(ValueError):
    """The policy file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Policy:
    version: str
    sha256: str
    releasable: MappingProxyType[Audience, frozenset[str]]
    never_disclosed_event_types: frozenset[str]
    # field -> custody statuses in which it may be released
    custody_conditions: MappingProxyType[str, frozenset[str]]


def policies_dir() -> Path:
    for candidate in (_PACKAGE_DIR.parent / "policies", _PACKAGE_DIR / "_bundled" / "policies"):
        if candidate.is_dir():
            return candidate
    raise PolicyError("the policies folder is missing from this installation")


def default_policy_path() -> Path:
    return policies_dir() / "disclosure.yaml"


def parse_policy(raw: bytes) -> Policy:
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise PolicyError("policy must be a mapping")
    if document.get("default") != "withhold":
        raise PolicyError("policy default must be 'withhold'")
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise PolicyError("policy needs a version string")

    audiences = _mapping(document, "audiences")
    releasable: dict[Audience, frozenset[str]] = {}
    for name, spec in audiences.items():
        try:
            audience = Audience(name)
        except ValueError as exc:
            raise PolicyError(f"unknown audience {name!r}") from exc
        fields = _mapping({"spec": spec}, "spec").get("release", [])
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise PolicyError(f"audience {name}: release must be a list of field names")
        releasable[audience] = frozenset(fields)

    conditions: dict[str, frozenset[str]] = {}
    for field, condition in _mapping(document, "conditions").items():
        statuses = _mapping({"c": condition}, "c").get("custody_status")
        if not isinstance(statuses, list) or not statuses:
            raise PolicyError(f"condition on {field}: custody_status must be a non-empty list")
        conditions[str(field)] = frozenset(str(s) for s in statuses)

    never = document.get("never_disclosed_event_types", [])
    if not isinstance(never, list):
        raise PolicyError("never_disclosed_event_types must be a list")

    return Policy(
        version=version,
        sha256=hashlib.sha256(raw).hexdigest(),
        releasable=MappingProxyType(releasable),
        never_disclosed_event_types=frozenset(str(t) for t in never),
        custody_conditions=MappingProxyType(conditions),
    )


def _mapping(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise PolicyError(f"{key} must be a mapping")
    return value


def load_policy(path: Path) -> Policy:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read policy {path}: {exc}") from exc
    return parse_policy(raw)


@lru_cache(maxsize=4)
def cached_policy(path: Path) -> Policy:
    return load_policy(path)
