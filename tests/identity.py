"""Test identities: a machine-client issuer with its own keys, and signed-in staff and victims."""

from __future__ import annotations

import json
import time
from base64 import b64encode
from typing import Any

import itsdangerous
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from voice.auth import staff_sessions
from voice.auth.access import STAFF_SESSION_KEY
from voice.config import Settings
from voice.database import transaction

ISSUER = "https://issuer.test"
AUDIENCE = "voice-api"
KEY = RSAKey.generate_key(2048, parameters={"kid": "test-1", "alg": "RS256"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "test-1", "alg": "RS256"})
JWKS = json.dumps({"keys": [KEY.as_dict(private=False)]})
# Test tokens are minted once (at import, in fixtures) and used for as long as the suite runs,
# which on a loaded machine can be an hour or more: they must outlive any run.
TOKEN_LIFETIME_SECONDS = 30 * 24 * 3600


def machine_token(
    scopes: str = "events:write",
    *,
    key: RSAKey = KEY,
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "client-upstream",
        "client_id": "client-upstream",
        "scope": scopes,
        "iat": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
    }
    body.update(claims)
    return jwt.encode(header or {"alg": "RS256", "kid": "test-1"}, body, key)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Minted once at import and used for the whole run: it must outlive the slowest run (the suite
# with the browser tests takes well over five minutes), so it lasts a day, not five minutes.
INGEST = bearer(machine_token("events:write", exp=int(time.time()) + 24 * 3600))


def staff_session(
    client: TestClient, *roles: str, sub: str = "staff-1", via: str = "oidc"
) -> dict[str, str]:
    """Sign a staff member in on ``client``; returns the CSRF header to send.

    It opens the server-side session the OIDC callback opens
    (``voice.portal.oidc.start_staff_session``) and puts its id in a cookie signed the way
    Starlette's SessionMiddleware signs it. The real callback runs against a real provider in
    tests/e2e/test_oidc_sign_in.py.
    """
    app = client.app
    settings: Settings = app.state.settings  # type: ignore[attr-defined]  # ASGI app type
    with transaction(app.state.engine) as session:  # type: ignore[attr-defined]
        token = staff_sessions.start(
            session=session,
            subject=sub,
            name="Test Staff",
            roles=list(roles),
            via=via,
            settings=settings,
        )
    data = {STAFF_SESSION_KEY: token}
    signer = itsdangerous.TimestampSigner(settings.secret_key.get_secret_value())
    cookie = signer.sign(b64encode(json.dumps(data).encode("utf-8"))).decode("utf-8")
    client.cookies.set("voice_session", cookie)
    return {"X-CSRF-Token": staff_sessions.csrf_for(token, settings)}


def victim_sign_in(client: TestClient, victim_code: str | None, pin: str) -> dict[str, str]:
    """Sign a victim in through the real endpoint; returns their bearer header."""
    response = client.post(
        "/api/v1/self-service/sign-in", json={"victim_id": victim_code, "pin": pin}
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])
