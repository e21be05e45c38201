"""Victim IDs, PINs and opaque tokens.

PINs are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommendation).
Opaque tokens (sessions, sign-in links) carry 192 random bits, so a plain sha256 is enough to
look them up by hash without storing them.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Crockford's base32 alphabet: no I, L, O or U, so a Victim ID read over the phone survives.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PIN_DIGITS = 8

_hasher = PasswordHasher()
# Verified against when the Victim ID is unknown, so the work (and the time) is the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def new_victim_code() -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"V-{body[:4]}-{body[4:]}"


def normalise_victim_code(raw: str) -> str:
    compact = "".join(ch for ch in raw.upper() if ch.isalnum())
    if compact.startswith("V"):
        compact = compact[1:]
    compact = compact.replace("O", "0").replace("I", "1").replace("L", "1")
    return f"V-{compact[:4]}-{compact[4:]}" if len(compact) == 8 else raw.strip().upper()[:32]


def new_pin() -> str:
    return f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"


def hash_pin(pin: str) -> str:
    return _hasher.hash(pin)


def verify_pin(pin_hash: str | None, pin: str) -> bool:
    """Always runs one argon2 verification, against a dummy hash when there is none."""
    try:
        return _hasher.verify(pin_hash or _DUMMY_HASH, pin) and pin_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
