"""The keys that protect victims' personal data, and what they do.

Ciphertext is ``v1.<key id>.<base64url(nonce || AES-256-GCM ciphertext+tag)>``. The key id
travels with each value, so any configured key can decrypt and rotation can find what is left
under an old key. The column's name is bound in as associated data: a value copied from one
column (or row kind) to another fails to decrypt instead of turning up somewhere it should not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from voice.config import Settings, get_settings

PREFIX = "v1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


class KeyConfigError(ValueError):
    """VOICE_PII_KEYS or VOICE_BLIND_INDEX_KEY is malformed. Never quotes the key material."""


class DecryptionError(Exception):
    """A stored value could not be decrypted: unknown key id, tampering, or not ciphertext."""


@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: Mapping[str, bytes]
    index_key: bytes

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current_id]).encrypt(
            nonce, plaintext.encode("utf-8"), context.encode("utf-8")
        )
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{PREFIX}.{self.current_id}.{body}"

    def decrypt(self, stored: str, *, context: str) -> str:
        try:
            prefix, key_id, body = stored.split(".", 2)
        except ValueError as exc:
            raise DecryptionError("not ciphertext") from exc
        key = self.keys.get(key_id)
        if prefix != PREFIX or key is None:
            raise DecryptionError(f"no key {key_id!r}" if prefix == PREFIX else "not ciphertext")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = AESGCM(key).decrypt(raw[:12], raw[12:], context.encode("utf-8"))
        except (InvalidTag, ValueError, binascii.Error) as exc:
            raise DecryptionError("ciphertext does not verify") from exc
        return plain.decode("utf-8")

    def key_id_of(self, stored: str) -> str | None:
        parts = stored.split(".", 2)
        return parts[1] if len(parts) == 3 and parts[0] == PREFIX else None

    def blind_index(self, value: str, *, kind: str) -> str:
        """A keyed HMAC of the normalised value: equal inputs match, nothing else is learnt."""
        message = f"{kind}\x00{normalise(value, kind=kind)}".encode()
        return hmac.new(self.index_key, message, hashlib.sha256).hexdigest()


def normalise(value: str, *, kind: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip()
    if kind == "phone":
        return "".join(ch for ch in text if ch.isdigit() or ch == "+")
    return text.casefold()


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def parse_keys(raw: str) -> tuple[str, dict[str, bytes]]:
    """``id:base64key[,id:base64key...]``; the first key encrypts."""
    keys: dict[str, bytes] = {}
    current = ""
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise KeyConfigError("each PII key is 'id:base64key' with a short alphanumeric id")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise KeyConfigError(f"PII key {key_id!r} is not base64") from exc
        if len(key) != 32:
            raise KeyConfigError(f"PII key {key_id!r} must be 32 bytes (AES-256)")
        if key_id in keys:
            raise KeyConfigError(f"PII key id {key_id!r} appears twice")
        keys[key_id] = key
        current = current or key_id
    if not keys:
        raise KeyConfigError("VOICE_PII_KEYS holds no key")
    return current, keys


def keyring_from_settings(settings: Settings) -> Keyring:
    secret = settings.secret_key.get_secret_value()
    if settings.pii_keys is not None:
        current, keys = parse_keys(settings.pii_keys.get_secret_value())
    else:
        # Development and test only (Settings refuses a missing key anywhere else).
        current, keys = "dev", {"dev": _derive(secret, b"voice pii development key")}
    if settings.blind_index_key is not None:
        index_key = _derive(settings.blind_index_key.get_secret_value(), b"voice blind index")
    else:
        index_key = _derive(secret, b"voice blind index development key")
    return Keyring(current_id=current, keys=keys, index_key=index_key)


_lock = threading.Lock()
_active: Keyring | None = None


def configure(settings: Settings) -> Keyring:
    """Make ``settings``' keys the ones the column types use (done by the app, CLI and worker)."""
    global _active
    keyring = keyring_from_settings(settings)
    with _lock:
        _active = keyring
    return keyring


def active() -> Keyring:
    global _active
    with _lock:
        if _active is None:
            _active = keyring_from_settings(get_settings())
        return _active
