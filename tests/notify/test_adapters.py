"""Delivery adapters: the file outbox of the embedded default, the memory senders, the choice."""

from __future__ import annotations

import json
from datetime import datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from voice.config import EmailAdapterKind, Environment, Settings, SmsAdapterKind
from voice.notify.adapters import build_email_sender, build_sms_sender
from voice.notify.adapters.base import DeliveryError, OutgoingEmail, OutgoingSms
from voice.notify.adapters.file import FileEmailSender, FileSmsSender
from voice.notify.adapters.memory import MemoryEmailSender, MemorySmsSender


def an_email(
    reference: str = "n-00000001", text: str = "Ramon Example has been booked."
) -> OutgoingEmail:
    return OutgoingEmail(
        to="victim@example.invalid",
        sender="VOICE Office <no-reply@voice.example>",
        subject="VOICE notice: a change in a case you follow",
        text=text,
        message_id=f"<{reference}@voice.invalid>",
        reference=reference,
    )


def an_sms(reference: str = "n-00000002", body: str = "VOICE: ha sido liberado.") -> OutgoingSms:
    return OutgoingSms(to="+15550123456", sender="+15550100000", body=body, reference=reference)


def parse(path: Path) -> EmailMessage:
    message = BytesParser(policy=email_policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    return message


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ----------------------------------------------------------------------------- file email


def test_file_email_sender_writes_one_parseable_message(tmp_path: Path) -> None:
    folder = tmp_path / "outbox" / "email"  # created on first send
    sender = FileEmailSender(folder)
    message = an_email()

    ref = sender.send(message=message)

    assert files_in(folder) == ["n-00000001.eml"]
    assert ref == "n-00000001.eml"
    parsed = parse(folder / ref)
    assert parsed["From"] == message.sender
    assert parsed["To"] == message.to
    assert parsed["Subject"] == message.subject
    assert parsed["Message-ID"] == message.message_id
    date = parsed["Date"].datetime
    assert isinstance(date, datetime)
    assert date.tzinfo is not None
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == message.text


def test_file_email_sender_keeps_non_ascii_text(tmp_path: Path) -> None:
    text = "Ramón Ejemplo ha sido liberado de la custodia migratoria. Situación: liberado."
    sender = FileEmailSender(tmp_path)

    ref = sender.send(message=an_email(text=text))

    body = parse(tmp_path / ref).get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == text


def test_sending_the_same_reference_twice_leaves_one_file(tmp_path: Path) -> None:
    sender = FileEmailSender(tmp_path)

    first = sender.send(message=an_email(text="first attempt"))
    second = sender.send(message=an_email(text="second attempt"))

    assert first == second
    assert files_in(tmp_path) == ["n-00000001.eml"]  # no second message, no .tmp- leftovers
    body = parse(tmp_path / second).get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == "second attempt"


def test_different_references_make_different_files(tmp_path: Path) -> None:
    sender = FileEmailSender(tmp_path)

    sender.send(message=an_email("n-00000001"))
    sender.send(message=an_email("n-00000002"))

    assert files_in(tmp_path) == ["n-00000001.eml", "n-00000002.eml"]


# ----------------------------------------------------------------------------- file sms


def test_file_sms_sender_writes_one_json_file(tmp_path: Path) -> None:
    folder = tmp_path / "sms"
    sender = FileSmsSender(folder)
    message = an_sms(body="VOICE: Ramón ha sido liberado. Preguntas: 1-555-010-0100")

    ref = sender.send(message=message)
    sender.send(message=message)  # a resend replaces

    assert ref == "n-00000002.json"
    assert files_in(folder) == [ref]
    stored = json.loads((folder / ref).read_text(encoding="utf-8"))
    assert stored == {
        "to": message.to,
        "from": message.sender,
        "body": message.body,
        "reference": message.reference,
    }


# ----------------------------------------------------------------------------- failures


def test_an_unwritable_folder_is_a_retryable_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file", encoding="utf-8")

    with pytest.raises(DeliveryError) as email_error:
        FileEmailSender(blocker / "email").send(message=an_email())
    with pytest.raises(DeliveryError) as sms_error:
        FileSmsSender(blocker / "sms").send(message=an_sms())

    for error in (email_error.value, sms_error.value):
        assert error.retryable is True
        assert error.code.startswith("file adapter:")
    assert blocker.read_text(encoding="utf-8") == "a regular file"


def test_a_failed_replace_leaves_no_temporary_file(tmp_path: Path) -> None:
    # Something that is not a file sits where the message must go, so the rename fails.
    (tmp_path / "n-00000001.eml").mkdir()
    (tmp_path / "n-00000001.eml" / "keep").write_text("x", encoding="utf-8")

    with pytest.raises(DeliveryError) as error:
        FileEmailSender(tmp_path).send(message=an_email())

    assert error.value.retryable is True
    assert files_in(tmp_path) == ["n-00000001.eml"]  # no .tmp- file left behind


# ----------------------------------------------------------------------------- memory


def test_memory_senders_keep_messages_by_reference() -> None:
    emails, texts = MemoryEmailSender(), MemorySmsSender()

    assert emails.send(message=an_email("n-1", text="one")) == "memory-n-1"
    assert emails.send(message=an_email("n-2")) == "memory-n-2"
    assert emails.send(message=an_email("n-1", text="one again")) == "memory-n-1"
    assert texts.send(message=an_sms("n-3")) == "memory-n-3"
    assert texts.send(message=an_sms("n-3", body="again")) == "memory-n-3"

    assert sorted(emails.outbox) == ["n-1", "n-2"]
    assert emails.outbox["n-1"].text == "one again"
    assert list(texts.outbox) == ["n-3"]
    assert texts.outbox["n-3"].body == "again"


# ----------------------------------------------------------------------------- choosing


def test_builders_choose_memory_adapters_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        environment=Environment.TEST,
        outbox_dir=tmp_path,
        email_adapter=EmailAdapterKind.MEMORY,
        sms_adapter=SmsAdapterKind.MEMORY,
    )

    assert isinstance(build_email_sender(settings), MemoryEmailSender)
    assert isinstance(build_sms_sender(settings), MemorySmsSender)
    # Each worker gets its own outbox.
    assert build_email_sender(settings) is not build_email_sender(settings)


def test_builders_choose_file_adapters_under_the_outbox_dir(tmp_path: Path) -> None:
    settings = Settings(
        environment=Environment.TEST,
        outbox_dir=tmp_path / "outbox",
        email_adapter=EmailAdapterKind.FILE,
        sms_adapter=SmsAdapterKind.FILE,
    )

    email_sender = build_email_sender(settings)
    sms_sender = build_sms_sender(settings)

    assert isinstance(email_sender, FileEmailSender)
    assert isinstance(sms_sender, FileSmsSender)
    assert email_sender.folder == tmp_path / "outbox" / "email"
    assert sms_sender.folder == tmp_path / "outbox" / "sms"
    email_sender.send(message=an_email())
    sms_sender.send(message=an_sms())
    assert files_in(tmp_path / "outbox") == ["email", "sms"]


def test_builders_can_mix_adapters(tmp_path: Path) -> None:
    settings = Settings(
        environment=Environment.TEST,
        outbox_dir=tmp_path,
        email_adapter=EmailAdapterKind.FILE,
        sms_adapter=SmsAdapterKind.MEMORY,
    )

    assert isinstance(build_email_sender(settings), FileEmailSender)
    assert isinstance(build_sms_sender(settings), MemorySmsSender)
