"""Victims' names and contact points are encrypted at rest, found by blind index, rotated."""

from __future__ import annotations

import base64
import logging
import os

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

import voice.models  # noqa: F401  (every encrypted table on the metadata)
from voice.config import Settings
from voice.database import transaction
from voice.liaison.models import LiaisonTask
from voice.pii import keyring, rotation
from voice.pii.keyring import DecryptionError, KeyConfigError, parse_keys
from voice.victims import service
from voice.victims.models import Victim
from voice.webhooks.models import WebhookEndpoint, WebhookSecret

NAME, EMAIL, PHONE = "Zelda Quintanilla", "Zelda.Q@example.invalid", "+1 555 010 0777"


def _key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


def _raw(engine: Engine, victim_id: int) -> dict[str, str | None]:
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT first_name, last_name, email, phone FROM victim WHERE id = :id"),
            {"id": victim_id},
        ).one()
    return dict(row._mapping)


@pytest.fixture
def restore_keyring(settings: Settings) -> object:
    yield None
    keyring.configure(settings)


def test_stored_values_are_ciphertext_and_attributes_are_plaintext(
    committed_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with transaction(committed_engine) as session:
        first, last = NAME.split()
        victim, _ = service.register_victim(
            session=session, first_name=first, last_name=last, email=EMAIL, phone=PHONE
        )
    raw = _raw(committed_engine, victim.id or 0)
    for value in raw.values():
        assert value is not None
        assert value.startswith("v1.")
        for secret in (*NAME.split(), EMAIL, PHONE):
            assert secret not in value
    with Session(committed_engine) as session:
        loaded = session.get_one(Victim, victim.id)
        assert (loaded.first_name, loaded.email, loaded.phone) == ("Zelda", EMAIL, PHONE)
        # Exact lookups through the keyed blind index, forgiving of case and spacing.
        assert [
            v.id for v in service.find_by_email(session=session, email="zelda.q@EXAMPLE.invalid ")
        ] == [victim.id]
        assert [v.id for v in service.find_by_phone(session=session, phone="+15550100777")] == [
            victim.id
        ]
    for secret in (*NAME.split(), EMAIL, PHONE):
        assert secret not in caplog.text


def test_ciphertext_cannot_move_between_columns(committed_engine: Engine) -> None:
    with transaction(committed_engine) as session:
        victim, _ = service.register_victim(
            session=session, first_name="A", last_name="B", email=EMAIL
        )
    raw = _raw(committed_engine, victim.id or 0)
    with committed_engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE victim SET phone = :email WHERE id = :id"),
            {"email": raw["email"], "id": victim.id},
        )
    with Session(committed_engine) as session, pytest.raises(DecryptionError):
        session.get_one(Victim, victim.id)


def test_rotation_re_encrypts_under_the_new_key(
    committed_engine: Engine, settings: Settings, restore_keyring: object
) -> None:
    old = _key("k1")
    keyring.configure(settings.model_copy(update={"pii_keys": SecretStr(old)}))
    with transaction(committed_engine) as session:
        victims = [
            service.register_victim(
                session=session, first_name=f"N{i}", last_name="L", email=f"{i}@example.invalid"
            )[0]
            for i in range(5)
        ]
    # A new key goes first; the old one stays to decrypt until rotation is done.
    keyring.configure(settings.model_copy(update={"pii_keys": SecretStr(f"{_key('k2')},{old}")}))
    with Session(committed_engine) as session:
        assert rotation.key_usage(session=session) == {"k1": 15}
        assert session.get_one(Victim, victims[0].id).first_name == "N0"
    assert rotation.rotate_all(committed_engine, batch_size=2) == 5
    with Session(committed_engine) as session:
        assert rotation.key_usage(session=session) == {"k2": 15}
        assert (
            service.find_by_email(session=session, email="3@example.invalid")[0].first_name == "N3"
        )
    assert rotation.rotate_all(committed_engine) == 0


def test_rotation_reaches_every_encrypted_column_not_only_the_victims(
    committed_engine: Engine, settings: Settings, restore_keyring: object
) -> None:
    columns = {
        f"{target.table.name}.{column.name}"
        for target in rotation.encrypted_tables()
        for column in target.columns
    }
    assert {
        "victim.phone",
        "webhook_secret.secret",
        "webhook_endpoint.partner_contact",
        "liaison_task.outcome_note",
        "inquiry_entry.body",
        "inquiry_answer.body",
        "victim_question.text",
        "inbound_message.body",
        "contact_proof.note",
    } <= columns

    old = _key("k1")
    keyring.configure(settings.model_copy(update={"pii_keys": SecretStr(old)}))
    with transaction(committed_engine) as session:
        endpoint = WebhookEndpoint(
            url="https://partner.example.invalid/hook",
            partner_name="Partner",
            partner_contact="ops@partner.example.invalid",
            event_types=["case.updated"],
        )
        session.add(endpoint)
        session.flush()
        assert endpoint.id is not None
        session.add(WebhookSecret(endpoint_id=endpoint.id, secret="s3cret"))
        task = LiaisonTask(kind="k", dedupe_key="d", reason="r", outcome_note="called back")
        session.add(task)
        session.flush()
        endpoint_id, task_id = endpoint.id, task.id
    new = _key("k2")
    keyring.configure(settings.model_copy(update={"pii_keys": SecretStr(f"{new},{old}")}))
    with Session(committed_engine) as session:
        assert rotation.key_usage(session=session) == {"k1": 3}

    assert rotation.rotate_all(committed_engine, batch_size=1) == 3

    # The old key is retired: every value must have moved to the new one.
    keyring.configure(settings.model_copy(update={"pii_keys": SecretStr(new)}))
    with Session(committed_engine) as session:
        assert rotation.key_usage(session=session) == {"k2": 3}
        assert session.get_one(WebhookEndpoint, endpoint_id).partner_contact == (
            "ops@partner.example.invalid"
        )
        secrets = session.execute(sa.select(WebhookSecret)).scalars().all()
        assert [s.secret for s in secrets] == ["s3cret"]
        assert session.get_one(LiaisonTask, task_id).outcome_note == "called back"


def test_malformed_key_settings_are_refused_without_showing_the_key() -> None:
    secret = base64.b64encode(b"x" * 16).decode()
    with pytest.raises(KeyConfigError) as caught:
        parse_keys(f"k1:{secret}")
    assert secret not in str(caught.value)
    with pytest.raises(KeyConfigError):
        parse_keys("no-colon")
    assert parse_keys(f"{_key('a')},{_key('b')}")[0] == "a"
