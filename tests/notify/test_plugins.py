"""Third-party adapters through the ``voice.adapters`` entry-point group, and safe test mode."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_config import IDENTITY as PRODUCTION_IDENTITY
from voice.config import Environment, Settings
from voice.notify.adapters import UnknownAdapterError, build_email_sender, build_sms_sender
from voice.notify.adapters.base import DeliveryError, OutgoingEmail, OutgoingSms
from voice.notify.adapters.safe import AllowListEmailSender, allowed

PLUGIN = """
from voice.notify.adapters.memory import MemoryEmailSender, MemorySmsSender


class AcmeEmail(MemoryEmailSender):
    def __init__(self, settings):
        super().__init__()
        self.settings = settings


def build_email(settings):
    return AcmeEmail(settings)


def build_sms(settings):
    return MemorySmsSender()
"""


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Iterator[None]:
    """A real distribution on sys.path, declaring entry points the way a wheel would."""
    (tmp_path / "acme_voice.py").write_text(PLUGIN, encoding="utf-8")
    dist = tmp_path / "acme_voice-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-voice\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[voice.adapters]\nemail.acme = acme_voice:build_email\nsms.acme = acme_voice:build_sms\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("acme_voice", None)


def an_email(to: str) -> OutgoingEmail:
    return OutgoingEmail(
        to=to, sender="a@voice.example", subject="s", text="t", message_id="<m>", reference="n-1"
    )


@pytest.mark.usefixtures("installed_plugin")
def test_a_third_party_adapter_is_found_by_its_entry_point(tmp_path: Path) -> None:
    settings = Settings(
        environment=Environment.PRODUCTION,
        secret_key="s" * 40,
        **PRODUCTION_IDENTITY,  # type: ignore[arg-type]
        email_adapter="acme",
        sms_adapter="acme",
        outbox_dir=tmp_path,
    )

    sender = build_email_sender(settings)
    assert type(sender).__name__ == "AcmeEmail"
    assert sender.settings is settings  # type: ignore[attr-defined]
    assert type(build_sms_sender(settings)).__name__ == "MemorySmsSender"

    # Under safe test mode, a third-party adapter reaches only the allow-list.
    wrapped = build_email_sender(settings.model_copy(update={"safe_test_mode": True}))
    assert isinstance(wrapped, AllowListEmailSender)
    with pytest.raises(DeliveryError) as error:
        wrapped.send(message=an_email("someone@gmail.com"))
    assert error.value.retryable is False
    assert wrapped.send(message=an_email("victim@example.invalid")) == "memory-n-1"


def test_an_unknown_adapter_name_is_an_error(tmp_path: Path) -> None:
    settings = Settings(environment=Environment.TEST, sms_adapter="nonesuch", outbox_dir=tmp_path)
    with pytest.raises(UnknownAdapterError, match=r"sms\.nonesuch"):
        build_sms_sender(settings)


def test_safe_test_mode_is_on_in_development_and_test_only() -> None:
    assert Settings(environment=Environment.TEST).test_mode is True
    assert Settings(environment=Environment.DEVELOPMENT).test_mode is True
    production = Settings(
        environment=Environment.PRODUCTION,
        secret_key="s" * 40,
        **PRODUCTION_IDENTITY,  # type: ignore[arg-type]
    )
    assert production.test_mode is False
    assert production.model_copy(update={"safe_test_mode": True}).test_mode is True


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("victim@example.invalid", True),
        ("Victim@Example.COM", True),
        ("x@voice.example", True),
        ("+15550123456", True),
        ("someone@gmail.com", False),
        ("+442071234567", False),
        ("victim@example.invalid.evil.com", False),
    ],
)
def test_the_default_allow_list(address: str, ok: bool) -> None:
    assert allowed(address, Settings().test_recipients) is ok


def test_test_recipients_can_be_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICE_TEST_RECIPIENTS", '["liaison@agency.gov", "+1202555*"]')
    settings = Settings()
    assert settings.test_recipients == ["liaison@agency.gov", "+1202555*"]
    message = OutgoingSms(to="+12025550111", sender="+1", body="b", reference="n-1")
    assert allowed(message.to, settings.test_recipients)
