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
DEV_AUDIT_CHECKPOINT_KEY = "dev-only-audit-checkpoint-key-change-me"

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
    # A hard cap on claims of one row, for a row that crashes its workers: far above what the
    # retry budget below needs (voice.notify.retry holds the two apart), so it never cuts it short.
    worker_max_attempts: int = 100
    # Temporary and technical failures are retried, with jitter, until the notice is this old
    # (a time budget: Svix retries for about 3 days, GOV.UK Notify for 4 hours).
    worker_retry_budget_seconds: float = 24 * 3600.0
    # The back-off between retries grows to at most this (with full jitter below it).
    worker_retry_max_backoff_seconds: float = 3600.0
    # A circuit breaker per channel and provider: after this many failures in a row it opens,
    # and the worker leaves that channel's rows due; after the cool-down one probe is let through.
    breaker_failure_threshold: int = 5
    breaker_cooldown_seconds: float = 30.0
    # A critical notice still undelivered this long after it was queued raises a liaison task
    # (once); its retries go on.
    undelivered_escalation_seconds: float = 15 * 60.0
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
    # The bearer token the bounce mailbox presents; unset, the bounce callback refuses all.
    bounce_token: SecretStr | None = None
    # Feed freshness: a source may stay quiet this many times its usual gap between events,
    # and never less than the floor, before staff are told it may be down.
    feed_silence_factor: float = 6.0
    feed_silence_floor_seconds: float = 6 * 3600.0
    # The bearer token Prometheus presents at /metrics; unset, /metrics refuses every scrape.
    metrics_token: SecretStr | None = None
    # An OTLP/HTTP collector for traces (e.g. http://collector:4318); unset, none are exported.
    otlp_endpoint: str | None = None

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

    # Ingest bodies are refused (413) past these sizes, counted before parsing: one event, and
    # a whole request (a batch).
    ingest_max_event_bytes: int = 128 * 1024
    ingest_max_batch_bytes: int = 10 * 1024 * 1024
    # Events stored together in one multi-row write (API batches and ``voice ingest``).
    ingest_batch_size: int = Field(default=500, ge=1, le=5000)

    # Where the service is reached from outside: providers' callbacks, acknowledgement and
    # sign-in links, and the OIDC redirect all use it. Required outside development and test;
    # there, ``voice serve`` derives it from the served host and port (voice/serving.py).
    public_base_url: str = "http://127.0.0.1:8000"
    # Proxies (addresses or CIDR ranges) whose X-Forwarded-For and X-Forwarded-Proto are
    # believed; none by default, so a caller cannot choose the address it is throttled under.
    forwarded_allow_ips: list[str] = []
    # Browser origins allowed to call the API; none by default (CORS closed).
    cors_origins: list[str] = []

    # Staff sign-in (OpenID Connect, authorization code + PKCE).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid profile email"
    # The claim that carries the user's groups or roles, and how its values map to VOICE roles
    # (JSON object, e.g. {"voice-liaisons": "liaison"}); unmapped values grant nothing.
    oidc_role_claim: str = "roles"
    oidc_role_map: dict[str, str] = {}

    # Machine clients (ingest and partner systems): bearer JWTs from this issuer, for this
    # audience, checked against its JWKS (a URL, or an inline JSON key set for static keys).
    machine_issuer: str | None = None
    machine_audience: str = "voice-api"
    machine_jwks_url: str | None = None
    machine_jwks: str | None = None
    # An unknown key id triggers a refetch, but not more often than this (a flood of tokens
    # with invented key ids must not become a flood of requests to the issuer).
    jwks_min_refetch_seconds: float = 30.0

    # Victim self-service sign-in.
    victim_max_failures: int = 5
    address_max_failures: int = 50
    # Past the failures allowed above, each further failure doubles the wait, from
    # ``sign_in_backoff_seconds`` up to ``sign_in_backoff_max_seconds`` (per Victim ID as typed,
    # and per client address); a sign-in link still works meanwhile.
    sign_in_backoff_seconds: int = 60
    sign_in_backoff_max_seconds: int = 24 * 3600
    throttle_window_seconds: int = 900
    victim_session_minutes: int = 30
    sign_in_link_minutes: int = 15
    # The self-service web: a session ends after this long without a page, and after this long
    # in all, whatever the activity.
    self_service_idle_minutes: int = 15
    self_service_max_hours: int = 8

    # Staff portal sessions (server-side): ended after this long without a request (NIST 800-53
    # AC-11, AC-12), and at the latest this long after sign-in.
    staff_session_idle_minutes: int = 15
    staff_session_max_minutes: int = 8 * 60

    # Signed checkpoints of the accounting chain's head, kept outside the database.
    audit_checkpoint_key: SecretStr = SecretStr(DEV_AUDIT_CHECKPOINT_KEY)
    audit_checkpoint_dir: Path = Path("./var/checkpoints")
    # Proving contact points: how long an emailed link and a texted code stay good, how many
    # wrong codes spend a code, and how long a contact point may stay unproven before a
    # liaison is asked to confirm it by phone.
    contact_link_hours: int = 72
    contact_code_minutes: int = 30
    contact_code_max_attempts: int = 5
    contact_unverified_task_hours: int = 48

    # PII at rest: AES-256-GCM keys as "id:base64key" pairs, comma-separated; the first one
    # encrypts, every one decrypts (rotation). The blind index key is for exact-match lookups.
    pii_keys: SecretStr | None = None
    blind_index_key: SecretStr | None = None

    # Partner webhooks (voice/webhooks): how long a rotated-out secret keeps signing, and the
    # networks (CIDRs) or host names let through the SSRF guard, for tests and development only.
    webhook_secret_overlap_seconds: float = 24 * 3600.0
    webhook_allowed_networks: list[str] = []
    webhook_batch_size: int = 100
    webhook_concurrency: int = 16

    # Inquiries (voice/inquiries): service levels run on this office's business hours, on
    # weekdays that are not U.S. federal holidays.
    inquiry_timezone: str = "America/New_York"
    inquiry_business_start_hour: int = Field(default=8, ge=0, le=23)
    inquiry_business_end_hour: int = Field(default=17, ge=1, le=24)
    # The staff subject of the liaison on duty: a safety concern is assigned to them at once.
    inquiry_duty_liaison: str | None = None
    # Inbound email (replies to notices): Mailgun's webhook signing key, and the password a
    # SendGrid Inbound Parse URL carries (basic auth). Unset, that route refuses every post.
    mailgun_signing_key: SecretStr | None = None
    sendgrid_inbound_token: SecretStr | None = None
    # A signed inbound post older (or newer) than this is refused as a replay.
    inbound_email_max_age_seconds: int = 900

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.environment is Environment.DEVELOPMENT or self.environment is Environment.TEST:
            return self
        defaults = {
            "VOICE_SECRET_KEY": (self.secret_key, DEV_SECRET_KEY),
            "VOICE_AUDIT_CHECKPOINT_KEY": (self.audit_checkpoint_key, DEV_AUDIT_CHECKPOINT_KEY),
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

    @model_validator(mode="after")
    def _refuse_missing_identity_settings(self) -> Settings:
        # Development and test derive these from VOICE_SECRET_KEY; nowhere else may they be
        # left out, or PII would sit under a key anyone with the source can compute.
        if self.environment in (Environment.DEVELOPMENT, Environment.TEST):
            return self
        missing = [
            name
            for name, value in (
                ("VOICE_PII_KEYS", self.pii_keys),
                ("VOICE_BLIND_INDEX_KEY", self.blind_index_key),
                ("VOICE_MACHINE_ISSUER", self.machine_issuer),
                (
                    "VOICE_MACHINE_JWKS_URL or VOICE_MACHINE_JWKS",
                    self.machine_jwks_url or self.machine_jwks,
                ),
                # A link to the development default would send victims nowhere.
                ("VOICE_PUBLIC_BASE_URL", "public_base_url" in self.model_fields_set),
            )
            if not value
        ]
        if missing:
            raise InsecureSettingsError(
                f"{', '.join(missing)} must be set outside development "
                f"(environment is {self.environment.value})"
            )
        return self

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

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
