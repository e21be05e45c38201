"""Machine-client JWTs: every bad token is refused; the JWKS is cached and refetched on rotation."""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey
from sqlalchemy.engine import Engine

from tests import factories
from tests.identity import (
    AUDIENCE,
    ISSUER,
    OTHER_KEY,
    TOKEN_LIFETIME_SECONDS,
    bearer,
    machine_token,
)
from voice.app import create_app
from voice.auth.machine import InvalidToken, KeyCache, MachineTokenVerifier
from voice.config import Settings


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=committed_engine)) as client:
        yield client


def _unsigned(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _claims(**extra: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "c",
        "scope": "events:write",
        "exp": now + TOKEN_LIFETIME_SECONDS,
        **extra,
    }


REFUSED = {
    "expired": machine_token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
    "wrong audience": machine_token(aud="someone-else"),
    "wrong issuer": machine_token(iss="https://evil.example"),
    "alg none": _unsigned(_claims()),
    "wrong key": machine_token(key=OTHER_KEY),
    "no expiry": machine_token(exp=None),
    "not a JWT": "not-a-jwt",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_bad_tokens_are_refused_with_401(client: TestClient, name: str) -> None:
    response = client.post(
        "/api/v1/events", json=factories.booking(), headers=bearer(REFUSED[name])
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


def test_hmac_signed_with_the_public_key_is_refused(client: TestClient) -> None:
    # The classic algorithm-confusion attack: HS256 keyed with the public key's PEM bytes.
    from tests.identity import KEY

    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).decode().rstrip("=")

    header = part(json.dumps({"alg": "HS256", "kid": "test-1"}).encode())
    payload = part(json.dumps(_claims()).encode())
    signature = hmac.new(KEY.as_pem(private=False), f"{header}.{payload}".encode(), "sha256")
    forged = f"{header}.{payload}.{part(signature.digest())}"
    response = client.post("/api/v1/events", json=[], headers=bearer(forged))
    assert response.status_code == 401


def test_a_token_without_the_scope_is_forbidden(client: TestClient) -> None:
    partner = machine_token("cases:read")
    response = client.post("/api/v1/events", json=factories.booking(), headers=bearer(partner))
    assert response.status_code == 403
    good = client.post("/api/v1/events", json=factories.booking(), headers=bearer(machine_token()))
    assert good.status_code == 201


class _JwksServer:
    """A real HTTP server on loopback that serves whatever key set it is given."""

    def __init__(self) -> None:
        self.document: dict[str, object] = {"keys": []}
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_jwks_is_cached_and_refetched_when_the_issuer_rotates_keys() -> None:
    old = RSAKey.generate_key(2048, parameters={"kid": "old"})
    new = RSAKey.generate_key(2048, parameters={"kid": "new"})
    clock = [1000.0]
    with _JwksServer() as issuer:
        issuer.document = {"keys": [old.as_dict(private=False)]}
        cache = KeyCache(
            url=issuer.url, inline=None, min_refetch_seconds=30, clock=lambda: clock[0]
        )
        verifier = MachineTokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=cache)
        for _ in range(5):
            verifier.verify(machine_token(key=old, header={"alg": "RS256", "kid": "old"}))
        assert issuer.hits == 1  # cached

        # The issuer rotates: a token with the new key id makes the cache refetch once.
        issuer.document = {"keys": [new.as_dict(private=False)]}
        clock[0] += 60
        claims = verifier.verify(machine_token(key=new, header={"alg": "RS256", "kid": "new"}))
        assert claims.scopes == frozenset({"events:write"})
        assert issuer.hits == 2

        # Invented key ids cannot make us hammer the issuer: no refetch inside the interval.
        for kid in ("bogus-1", "bogus-2", "bogus-3"):
            with pytest.raises(InvalidToken):
                verifier.verify(machine_token(key=new, header={"alg": "RS256", "kid": kid}))
        assert issuer.hits == 2
        # The retired key no longer verifies.
        with pytest.raises(InvalidToken):
            verifier.verify(machine_token(key=old, header={"alg": "RS256", "kid": "old"}))
