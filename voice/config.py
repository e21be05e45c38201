"""Settings: one object, read from the environment with the ``VOICE_`` prefix."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development defaults for secrets. They exist so the embedded demo runs with no setup; any
# other environment must replace every one of them, or the service refuses to start.
DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105
DEV_INGEST_TOKEN = "dev-only-ingest-token"  # noqa: S105

# Safe test mode lets messages go only to these recipients (fnmatch patterns): reserved example
# domains (RFC 2606) and the 555 numbers of fiction.
DEFAULT_TEST_RECIPIENTS = (
    "*@*.invalid",
    "*@example.com",
    "*@example.org",
    "*@example.net",
    "*@*.example",
    "+1555*",
)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class EmailAdapterKind(StrEnum):
    FILE = "file"
    MEMORY = "memory"
    SMTP = "smtp"


class SmsAdapterKind(StrEnum):
    FILE = "file"
    MEMORY = "memory"
    TWILIO = "twilio"


class InsecureSettingsError(ValueError):
    """A secret still holds its development default outside development."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOICE_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///./voice.db"
    database_echo: bool = False

    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    ingest_token: SecretStr = SecretStr(DEV_INGEST_TOKEN)

    # A name outside the enums is looked up in the ``voice.adapters`` entry-point group.
    email_adapter: Annotated[EmailAdapterKind | str, Field(union_mode="left_to_right")] = (
        EmailAdapterKind.FILE
    )
    sms_adapter: Annotated[SmsAdapterKind | str, Field(union_mode="left_to_right")] = (
        SmsAdapterKind.FILE
    )
    outbox_dir: Path = Path("./var/outbox")
    email_from: str = "VOICE Office <no-reply@voice.example>"
    sms_from: str = "+15550100000"
    office_contact: str = "VOICE office, 1-555-010-0100, voice-office@voice.example"

    worker_batch_size: int = 20
    worker_poll_seconds: float = 0.5
    # A claim older than this is presumed abandoned by a dead worker and is claimed again.
    worker_lease_seconds: float = 120.0
    worker_max_attempts: int = 5
    # Sends within one claimed batch run on this many threads; the database work stays batched.
    worker_send_concurrency: int = 8

    # SMTP (VOICE_EMAIL_ADAPTER=smtp)
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = 30.0
    # A Twilio-compatible SMS provider (VOICE_SMS_ADAPTER=twilio)
    twilio_base_url: str = "https://api.twilio.com"
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_timeout_seconds: float = 15.0
    # The address at which providers' callbacks and victims' links reach this service.
    public_base_url: str = "http://127.0.0.1:8000"
    # The bearer token the bounce mailbox presents; unset, the bounce callback refuses all.
    bounce_token: SecretStr | None = None

    # Safe test mode: adapters refuse every recipient outside the allow-list. Unset, it is on in
    # development and test and off elsewhere.
    safe_test_mode: bool | None = None
    test_recipients: list[str] = list(DEFAULT_TEST_RECIPIENTS)

    # Lifecycle: a notification handed to a provider that never sends a receipt is resolved.
    receipt_timeout_seconds: float = 72 * 3600.0
    # An unacknowledged critical notice becomes a liaison task after this long.
    ack_escalation_seconds: float = 4 * 3600.0
    ack_link_max_age_seconds: int = 30 * 24 * 3600
    periodic_interval_seconds: float = 60.0
    # Mass-event guard: critical events in the window above either limit are held.
    guard_window_seconds: float = 600.0
    guard_max_critical_events: int = 50
    guard_max_case_share: float = 0.05
    guard_min_events: int = 10

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
    def test_mode(self) -> bool:
        if self.safe_test_mode is not None:
            return self.safe_test_mode
        return self.environment in (Environment.DEVELOPMENT, Environment.TEST)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
