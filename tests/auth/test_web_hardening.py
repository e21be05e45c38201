"""Security headers on every answer; CORS closed unless origins are configured."""

from __future__ import annotations

from fastapi.testclient import TestClient

from voice.app import create_app
from voice.config import Settings


def test_security_headers_on_pages_api_and_errors(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        for path in ("/healthz", "/api/v1/self-service/cases", "/portal/sign-in", "/nowhere"):
            headers = client.get(path, follow_redirects=False).headers
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert headers["strict-transport-security"].startswith("max-age=")
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["x-content-type-options"] == "nosniff"
        assert client.get("/api/v1/self-service/cases").headers["cache-control"] == "no-store"


def test_cors_is_closed_by_default_and_opens_only_to_configured_origins(
    settings: Settings,
) -> None:
    preflight = {
        "Origin": "https://elsewhere.example",
        "Access-Control-Request-Method": "GET",
    }
    with TestClient(create_app(settings)) as client:
        answer = client.options("/api/v1/self-service/cases", headers=preflight)
        assert "access-control-allow-origin" not in answer.headers
    allowed = settings.model_copy(update={"cors_origins": ["https://partner.example"]})
    with TestClient(create_app(allowed)) as client:
        other = client.options("/api/v1/self-service/cases", headers=preflight)
        assert "access-control-allow-origin" not in other.headers
        mine = client.options(
            "/api/v1/self-service/cases", headers={**preflight, "Origin": "https://partner.example"}
        )
        assert mine.headers["access-control-allow-origin"] == "https://partner.example"
        assert "access-control-allow-credentials" not in mine.headers
