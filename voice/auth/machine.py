"""Machine clients: OAuth2 bearer JWTs checked against the issuer's JWKS.

JOSE work is done by joserfc, Authlib's own JOSE library (``authlib.jose`` is deprecated in
its favour). The key set is cached; a token signed with a key id the cache does not know makes
it refetch once (the issuer has rotated), but never more often than the configured interval.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import errors, jwt
from joserfc.jwk import KeySet, OKPKey

from voice.config import Settings

log = logging.getLogger(__name__)

# Asymmetric algorithms only: "none" and the HMAC family (which would let anyone holding the
# public key mint tokens) are refused outright.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "Ed25519")
LEEWAY_SECONDS = 30
DEV_ISSUER = "voice-development"
DEV_KEY_ID = "voice-dev-1"


class InvalidToken(Exception):
    """The bearer token is not one this service accepts. The message is a code, not a secret."""


@dataclass(frozen=True)
class MachineClaims:
    client_id: str
    scopes: frozenset[str]


class KeyCache:
    """The issuer's JWKS, fetched lazily and refetched when an unknown key id turns up."""

    def __init__(
        self,
        *,
        url: str | None,
        inline: str | None,
        client: httpx.Client | None = None,
        min_refetch_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not url and not inline:
            raise ValueError("a JWKS URL or an inline key set is required")
        self._url = url
        self._client = client or httpx.Client(timeout=5.0)
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._lock = threading.Lock()
        document = json.loads(inline) if inline else None
        # An empty inline set means "trust no issuer": every token is refused.
        self._empty = document is not None and not document.get("keys")
        self._keys: KeySet | None = (
            KeySet.import_key_set(document) if document and not self._empty else None
        )
        self._fetched_at: float | None = None
        self.fetches = 0

    def keys(self) -> KeySet:
        if self._empty:
            raise InvalidToken("no_keys")
        with self._lock:
            if self._keys is None:
                self._fetch()
            assert self._keys is not None
            return self._keys

    def refresh(self) -> bool:
        """Refetch after an unknown key id; False when it is too soon or there is no URL."""
        with self._lock:
            if self._url is None:
                return False
            if self._fetched_at is not None and (
                self._clock() - self._fetched_at < self._min_refetch
            ):
                return False
            self._fetch()
            return True

    def _fetch(self) -> None:
        assert self._url is not None
        self._fetched_at = self._clock()
        try:
            response = self._client.get(self._url)
            response.raise_for_status()
            self._keys = KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, errors.JoseError) as exc:
            log.warning("JWKS fetch failed (%s)", type(exc).__name__)
            raise InvalidToken("jwks_unavailable") from exc
        self.fetches += 1


class MachineTokenVerifier:
    def __init__(self, *, issuer: str, audience: str, keys: KeyCache) -> None:
        self.issuer = issuer
        self.audience = audience
        self._keys = keys
        self._claims = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
        )

    def verify(self, token: str) -> MachineClaims:
        try:
            decoded = self._decode(token)
            self._claims.validate(decoded.claims)
        except errors.JoseError as exc:
            raise InvalidToken(exc.error) from exc
        except ValueError as exc:  # malformed segments, bad JSON
            raise InvalidToken("malformed") from exc
        claims = decoded.claims
        client_id = claims.get("client_id") or claims.get("azp") or claims.get("sub")
        if not isinstance(client_id, str) or not client_id:
            raise InvalidToken("missing_client")
        return MachineClaims(client_id=client_id[:128], scopes=_scopes(claims))

    def _decode(self, token: str) -> jwt.Token:
        try:
            return jwt.decode(token, self._keys.keys(), algorithms=ALGORITHMS)
        except errors.InvalidKeyIdError:
            if not self._keys.refresh():
                raise
            return jwt.decode(token, self._keys.keys(), algorithms=ALGORITHMS)


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    # RFC 9068 uses a space-separated "scope"; some issuers send a "scp" list instead.
    raw = claims.get("scope", claims.get("scp", ""))
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list):
        return frozenset(s for s in raw if isinstance(s, str))
    return frozenset()


def development_key(settings: Settings) -> OKPKey:
    """The embedded demo's own signing key, derived from the (development) secret key."""
    seed = HKDF(
        algorithm=SHA256(), length=32, salt=None, info=b"voice development machine-client key"
    ).derive(settings.secret_key.get_secret_value().encode("utf-8"))
    private = Ed25519PrivateKey.from_private_bytes(seed)
    return OKPKey.import_key(private, parameters={"kid": DEV_KEY_ID, "alg": "Ed25519"})


def mint_development_token(
    settings: Settings, scopes: list[str], *, client_id: str = "voice-demo", ttl: int = 3600
) -> str:
    """A token for the embedded demo only (``voice dev-token``)."""
    if not settings.is_development:
        raise RuntimeError("development tokens exist only in development")
    now = int(time.time())
    claims = {
        "iss": DEV_ISSUER,
        "aud": settings.machine_audience,
        "sub": client_id,
        "client_id": client_id,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + ttl,
    }
    header = {"alg": "Ed25519", "kid": DEV_KEY_ID}
    return jwt.encode(header, claims, development_key(settings), algorithms=["Ed25519"])


def build_verifier(settings: Settings, client: httpx.Client | None = None) -> MachineTokenVerifier:
    if settings.machine_jwks_url or settings.machine_jwks:
        if not settings.machine_issuer:
            raise ValueError("VOICE_MACHINE_ISSUER is required with a machine-client key set")
        cache = KeyCache(
            url=settings.machine_jwks_url,
            inline=settings.machine_jwks,
            client=client,
            min_refetch_seconds=settings.jwks_min_refetch_seconds,
        )
        return MachineTokenVerifier(
            issuer=settings.machine_issuer, audience=settings.machine_audience, keys=cache
        )
    if not settings.is_development:
        # No issuer configured (only possible in test; Settings refuses it in staging and
        # production): an empty key set, so every machine token is refused. The development
        # key is never trusted outside development.
        return MachineTokenVerifier(
            issuer="unconfigured",
            audience=settings.machine_audience,
            keys=KeyCache(url=None, inline=json.dumps({"keys": []})),
        )
    public = development_key(settings).as_dict(private=False)
    return MachineTokenVerifier(
        issuer=DEV_ISSUER,
        audience=settings.machine_audience,
        keys=KeyCache(url=None, inline=json.dumps({"keys": [public]})),
    )


def token_fingerprint(token: str) -> str:
    """A short, non-reversible tag of a token, for correlating log lines without the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]
