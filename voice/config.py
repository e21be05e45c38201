"""Settings: one object, read from the environment with the ``VOICE_`` prefix."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development defaults for secrets. They exist so the embedded demo runs with no setup; any
# other environment must replace every one of them, or the service refuses to start.
DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105
DEV_INGEST_TOKEN = "dev-only-ingest-token"  # noqa: S105


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class EmailAdapterKind(StrEnum):
    FILE = "file"
    MEMORY = "memory"


class SmsAdapterKind(StrEnum):
    FILE = "file"
    MEMORY = "memory"


class InsecureSettingsError(ValueError):
    """A secret still holds its development default outside development."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOICE_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///./voice.db"
    database_echo: bool = False

    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    ingest_token: SecretStr = SecretStr(DEV_INGEST_TOKEN)

    email_adapter: EmailAdapterKind = EmailAdapterKind.FILE
    sms_adapter: SmsAdapterKind = SmsAdapterKind.FILE
    outbox_dir: Path = Path("./var/outbox")
    email_from: str = "VOICE Office <no-reply@voice.example>"
    sms_from: str = "+15550100000"
    office_contact: str = "VOICE office, 1-555-010-0100, voice-office@voice.example"

    worker_batch_size: int = 20
    worker_poll_seconds: float = 0.5
    # A claim older than this is presumed abandoned by a dead worker and is claimed again.
    worker_lease_seconds: float = 120.0
    worker_max_attempts: int = 5

    policy_path: Path | None = None

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.environment is Environment.DEVELOPMENT or self.environment is Environment.TEST:
            return self
        defaults = {
            "VOICE_SECRET_KEY": (self.secret_key, DEV_SECRET_KEY),
            "VOICE_INGEST_TOKEN": (self.ingest_token, DEV_INGEST_TOKEN),
        }
        offending = [
            name for name, (value, dev) in defaults.items() if value.get_secret_value() == dev
        ]
        if offending:
            raise InsecureSettingsError(
                f"{', '.join(offending)} must be set outside development "
                f"(environment is {self.environment.value})"
            )
        weak = [name for name, (value, _) in defaults.items() if len(value.get_secret_value()) < 32]
        if weak:
            raise InsecureSettingsError(
                f"{', '.join(weak)} must be at least 32 characters outside development"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
