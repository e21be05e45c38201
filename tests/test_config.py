"""Settings refuse development secrets outside development."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from voice.config import Environment, Settings
from voice.database import normalise_url

STRONG = "s" * 40
IDENTITY: dict[str, object] = {
    "pii_keys": SecretStr("k1:" + "A" * 43 + "="),
    "blind_index_key": SecretStr(STRONG),
    "audit_checkpoint_key": SecretStr(STRONG),
    "machine_issuer": "https://login.example.gov",
    "machine_jwks_url": "https://login.example.gov/jwks",
    "public_base_url": "https://voice.example.gov",
}


@pytest.mark.parametrize("environment", [Environment.STAGING, Environment.PRODUCTION])
def test_default_secrets_are_refused_outside_development(environment: Environment) -> None:
    with pytest.raises(ValidationError, match="VOICE_SECRET_KEY"):
        Settings(environment=environment, **IDENTITY)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(environment=environment, secret_key=SecretStr("short"), **IDENTITY)  # type: ignore[arg-type]
    for missing in IDENTITY:
        partial = {k: v for k, v in IDENTITY.items() if k != missing}
        with pytest.raises(ValidationError, match="must be set outside development"):
            Settings(environment=environment, secret_key=SecretStr(STRONG), **partial)  # type: ignore[arg-type]
    ok = Settings(environment=environment, secret_key=SecretStr(STRONG), **IDENTITY)  # type: ignore[arg-type]
    assert ok.environment is environment


def test_development_defaults_and_error_text_never_show_a_secret() -> None:
    settings = Settings(environment=Environment.DEVELOPMENT)
    assert settings.database_url == "sqlite:///./voice.db"
    assert "dev-only" not in repr(settings)
    with pytest.raises(ValidationError) as caught:
        Settings(environment=Environment.PRODUCTION)
    assert "dev-only" not in str(caught.value)


def test_environment_variables_use_the_voice_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICE_DATABASE_URL", "postgresql://db.internal/voice")
    monkeypatch.setenv("VOICE_WORKER_LEASE_SECONDS", "7")
    settings = Settings()
    assert settings.database_url == "postgresql://db.internal/voice"
    assert settings.worker_lease_seconds == 7


def test_postgres_urls_go_through_psycopg3() -> None:
    assert normalise_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert normalise_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert normalise_url("sqlite:///./voice.db") == "sqlite:///./voice.db"
