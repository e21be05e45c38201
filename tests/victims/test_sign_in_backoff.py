"""PIN sign-in backs off instead of locking: guessing costs the attacker time, a victim who
mistyped waits a minute, a backed-off victim still gets in with an emailed link, and staff see
and lift a back-off. Time is moved by hand (tests/clock.py), never waited for."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests import factories
from tests.clock import FrozenClock
from tests.identity import INGEST, bearer, staff_session
from voice import cli
from voice.app import create_app
from voice.config import EmailAdapterKind, Settings
from voice.database import transaction
from voice.notify.adapters.memory import MemoryEmailSender
from voice.victims.models import Victim

SIGN_IN = "/api/v1/self-service/sign-in"
WRONG = "00000000"


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"email_adapter": EmailAdapterKind.MEMORY})


@pytest.fixture
def client(committed_engine: Engine, app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, engine=committed_engine)) as client:
        assert client.post("/api/v1/events", json=factories.booking(), headers=INGEST).is_success
        yield client


def _victim(engine: Engine) -> tuple[Victim, str]:
    with transaction(engine) as session:
        victim, _, pin = factories.victim_with_link(session, factories.case_of(session))
    assert victim.victim_code is not None
    return victim, pin


def _try(client: TestClient, code: str | None, pin: str) -> int:
    status: int = client.post(SIGN_IN, json={"victim_id": code, "pin": pin}).status_code
    return status


def test_the_back_off_doubles_and_the_right_pin_works_once_it_has_passed(
    client: TestClient, committed_engine: Engine, clock: FrozenClock
) -> None:
    victim, pin = _victim(committed_engine)
    for _ in range(5):
        assert _try(client, victim.victim_code, WRONG) == 401
    assert _try(client, victim.victim_code, pin) == 401  # backing off: not even checked
    clock.advance(seconds=61)
    assert _try(client, victim.victim_code, WRONG) == 401  # the sixth failure: two minutes
    clock.advance(seconds=61)
    assert _try(client, victim.victim_code, pin) == 401
    clock.advance(seconds=60)
    assert _try(client, victim.victim_code, pin) == 200


def test_hammering_a_backed_off_victim_id_does_not_keep_the_victim_out(
    client: TestClient, committed_engine: Engine, app_settings: Settings, clock: FrozenClock
) -> None:
    victim, pin = _victim(committed_engine)
    for _ in range(5):
        assert _try(client, victim.victim_code, WRONG) == 401
    # The attacker keeps going from other addresses while the ID backs off...
    strict = app_settings.model_copy(update={"address_max_failures": 10_000})
    with TestClient(create_app(strict, engine=committed_engine)) as other:
        for _ in range(50):
            assert _try(other, victim.victim_code, WRONG) == 401
    # ...which costs those addresses, not the victim: after one minute the PIN is checked.
    clock.advance(seconds=61)
    assert _try(client, victim.victim_code, pin) == 200


def test_one_address_spraying_many_victim_ids_backs_off_by_doubling(
    committed_engine: Engine, app_settings: Settings, clock: FrozenClock
) -> None:
    strict = app_settings.model_copy(update={"address_max_failures": 3})
    with TestClient(create_app(strict, engine=committed_engine)) as client:
        for n in range(3):
            assert _try(client, f"V-0000-000{n}", WRONG) == 401
        assert _try(client, "V-0000-0005", WRONG) == 429
        clock.advance(seconds=61)
        assert _try(client, "V-0000-0006", WRONG) == 401  # the fourth: two minutes now
        clock.advance(seconds=61)
        assert _try(client, "V-0000-0007", WRONG) == 429
        clock.advance(seconds=60)
        assert _try(client, "V-0000-0008", WRONG) == 401


def test_a_backed_off_victim_signs_in_with_an_emailed_link(
    client: TestClient, committed_engine: Engine, app_settings: Settings
) -> None:
    # The spray comes from the victim's own network (one address), so both the Victim ID and
    # the address are backing off; the link must still get the victim in.
    victim, pin = _victim(committed_engine)
    strict = app_settings.model_copy(update={"address_max_failures": 3})
    with TestClient(create_app(strict, engine=committed_engine)) as client:
        for _ in range(5):
            client.post(SIGN_IN, json={"victim_id": victim.victim_code, "pin": WRONG})
        assert _try(client, victim.victim_code, pin) in (401, 429)
        asked = client.post(
            "/api/v1/self-service/sign-in-link", json={"victim_id": victim.victim_code}
        )
        assert asked.status_code == 202
        sender = client.app.state.sign_in_email  # type: ignore[attr-defined]
        assert isinstance(sender, MemoryEmailSender)
        (message,) = sender.outbox.values()
        link = re.search(r"/self-service/sign-in-link\?token=(\S+)", message.text)
        assert link is not None
        redeemed = client.post(
            "/api/v1/self-service/sign-in-link/redeem", json={"token": link.group(1)}
        )
        assert redeemed.status_code == 200
        token = redeemed.json()["access_token"]
        assert client.get("/api/v1/self-service/cases", headers=bearer(token)).is_success


def test_staff_see_a_back_off_and_lift_it(client: TestClient, committed_engine: Engine) -> None:
    victim, pin = _victim(committed_engine)
    csrf = staff_session(client, "liaison")
    url = f"/api/v1/victims/{victim.id}/sign-in-lock"
    assert client.get(url).json() == {"locked": False, "locked_until": None, "failures": 0}
    for _ in range(5):
        _try(client, victim.victim_code, WRONG)
    seen = client.get(url).json()
    assert seen["locked"] is True
    assert seen["failures"] == 5
    assert seen["locked_until"]
    assert client.delete(url, headers=csrf).status_code == 204
    assert client.get(url).json() == {"locked": False, "locked_until": None, "failures": 0}
    assert _try(client, victim.victim_code, pin) == 200
    assert client.get("/api/v1/victims/999999/sign-in-lock").status_code == 404


def test_only_casework_staff_reach_the_lock(client: TestClient, committed_engine: Engine) -> None:
    victim, pin = _victim(committed_engine)
    url = f"/api/v1/victims/{victim.id}/sign-in-lock"
    victim_bearer = bearer(
        client.post(SIGN_IN, json={"victim_id": victim.victim_code, "pin": pin}).json()[
            "access_token"
        ]
    )
    assert client.get(url, headers=victim_bearer).status_code == 403
    assert client.delete(url).status_code == 401
    csrf = staff_session(client, "auditor")
    assert client.delete(url, headers=csrf).status_code == 403


@pytest.mark.usefixtures("voice_env")
def test_the_cli_shows_and_lifts_a_back_off(
    client: TestClient, committed_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    victim, pin = _victim(committed_engine)
    for _ in range(5):
        _try(client, victim.victim_code, WRONG)
    code = str(victim.victim_code)
    assert cli.main(["victims", "sign-in-lock", code.lower()]) == 0
    assert '"locked": true' in capsys.readouterr().out
    assert cli.main(["victims", "unlock", code, "--by", "staff-1"]) == 0
    assert '"lifted": true' in capsys.readouterr().out
    assert _try(client, victim.victim_code, pin) == 200
    assert cli.main(["victims", "unlock", "V-ZZZZ-ZZZZ", "--by", "staff-1"]) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["victims", "unlock", "not-an-id", "--by", "x"],
        ["victims", "unlock", "V-ZZZZ-ZZZZ"],  # --by is required
        ["victims"],
        ["staff", "end-sessions"],
    ],
)
def test_cli_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_cli_help_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["victims", "unlock", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for said in ("V-XXXX-XXXX", "--by", "lift"):
        assert said in out
