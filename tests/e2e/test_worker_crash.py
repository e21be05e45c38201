"""Kill the worker with SIGKILL between claiming a notification and finishing it: after a
restart the notification is sent exactly once, and none is lost."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests import factories
from tests.e2e.helpers import REPO, child_env, messages_in, run_voice, wait_for
from voice.audit.models import DisclosureRecord
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.ingest import service as ingest_service
from voice.notify.models import Notification, NotificationStatus

LEASE_SECONDS = "1"


def _after(moment: datetime) -> bool:
    return utcnow() > moment


def _one_notification(engine: Engine) -> Notification:
    with Session(engine) as session:
        return session.exec(select(Notification)).one()


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["before-send", "after-send"])
def test_killed_worker_loses_nothing_and_sends_once(
    mode: str, committed_engine: Engine, settings: Settings, policy: Policy, tmp_path: Path
) -> None:
    with transaction(committed_engine) as session:
        ingest_service.ingest_event(session=session, candidate=factories.booking(), policy=policy)
        factories.victim_with_link(session, factories.case_of(session))
        ingest_service.ingest_event(
            session=session,
            policy=policy,
            candidate=factories.event("custody.released", case={"custody_status": "released"}),
        )

    outbox = tmp_path / "outbox"
    marker = tmp_path / "claimed"
    env = child_env(settings.database_url, outbox, VOICE_WORKER_LEASE_SECONDS=LEASE_SECONDS)
    victim = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "e2e" / "crashing_worker.py"), mode, str(marker)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(marker.exists, what="the worker to claim the notification")
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL

    claimed = _one_notification(committed_engine)
    assert claimed.status == NotificationStatus.SENDING
    assert claimed.attempts == 1
    assert claimed.claimed_until is not None
    assert len(messages_in(outbox)) == (1 if mode == "after-send" else 0)

    # Once the dead worker's lease has run out, a restarted worker takes the row over.
    lease_end = claimed.claimed_until
    wait_for(lambda: utcnow() > lease_end, what="the lease to expire")
    run_voice(["worker", "--once"], env)

    finished = _one_notification(committed_engine)
    assert finished.status == NotificationStatus.SENT
    assert finished.attempts == 2
    assert len(messages_in(outbox)) == 1
    with Session(committed_engine) as session:
        records = session.exec(select(DisclosureRecord)).all()
        assert [r.notification_id for r in records] == [finished.id]


@pytest.mark.e2e
def test_killed_mid_batch_against_real_providers_loses_nothing_and_sends_nothing_twice(
    committed_engine: Engine, settings: Settings, policy: Policy, tmp_path: Path
) -> None:
    """Three victims, each by email (file outbox) and SMS (a local Twilio-compatible server).
    The worker sends half its batch, then is killed; a restarted worker finishes the batch."""
    from tests.notify.servers import TWILIO_SID, TWILIO_TOKEN, twilio_server

    with transaction(committed_engine) as session:
        ingest_service.ingest_event(session=session, candidate=factories.booking(), policy=policy)
        for n in range(3):
            factories.victim_with_link(
                session,
                factories.case_of(session),
                email=f"victim{n}@example.invalid",
                phone=f"+1555012000{n}",
                notify_sms=True,
            )
        ingest_service.ingest_event(
            session=session,
            policy=policy,
            candidate=factories.event("custody.released", case={"custody_status": "released"}),
        )
    with Session(committed_engine) as session:
        assert len(session.exec(select(Notification)).all()) == 6

    outbox = tmp_path / "outbox"
    marker = tmp_path / "claimed"
    with twilio_server() as fake:
        env = child_env(
            settings.database_url,
            outbox,
            VOICE_WORKER_LEASE_SECONDS=LEASE_SECONDS,
            VOICE_WORKER_SEND_CONCURRENCY="1",
            VOICE_SMS_ADAPTER="twilio",
            VOICE_TWILIO_BASE_URL=fake.base_url,
            VOICE_TWILIO_ACCOUNT_SID=TWILIO_SID,
            VOICE_TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
            CRASH_AFTER_SENDS="3",
        )
        victim = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "tests" / "e2e" / "crashing_worker.py"),
                "mid-batch",
                str(marker),
            ],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for(marker.exists, what="the worker to send half its batch")
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
        assert victim.returncode == -signal.SIGKILL

        with Session(committed_engine) as session:
            rows = session.exec(select(Notification)).all()
            accounted = session.exec(select(DisclosureRecord)).all()
        # Three messages left; each was recorded as handed over as soon as it was accepted,
        # with its accounting in the same commit. The other three are still leased.
        handed = [r for r in rows if r.provider_ref is not None]
        assert len(handed) == 3
        assert all(r.claimed_by is None for r in handed)
        assert sorted(r.notification_id or 0 for r in accounted) == sorted(
            r.id or 0 for r in handed
        )
        leased = [r for r in rows if r.provider_ref is None]
        assert {r.status for r in leased} == {NotificationStatus.SENDING}
        assert all(r.claimed_by is not None for r in leased)
        sent_before = len(fake.messages) + len(messages_in(outbox))
        assert sent_before == 3

        lease_end = max(r.claimed_until for r in leased if r.claimed_until is not None)
        wait_for(lambda: utcnow() > lease_end, what="the lease to expire")
        run_voice(["worker", "--once"], {k: v for k, v in env.items() if k != "CRASH_AFTER_SENDS"})

        with Session(committed_engine) as session:
            rows = session.exec(select(Notification)).all()
            records = session.exec(select(DisclosureRecord)).all()
        by_channel = {r.channel: [] for r in rows}  # type: dict[str, list[Notification]]
        for row in rows:
            by_channel[row.channel].append(row)
        # Email has no receipts: sent. SMS is handed over, waiting for its receipt.
        assert {r.status for r in by_channel["email"]} == {NotificationStatus.SENT}
        assert {r.status for r in by_channel["sms"]} == {NotificationStatus.SENDING}
        assert all(r.provider_ref and r.claimed_by is None for r in rows)
        # Only the rows the dead worker had not handed over were claimed again.
        assert sorted(r.attempts for r in rows) == [1, 1, 1, 2, 2, 2]
        # Nothing lost, nothing twice: one message per notification at each provider, even
        # though the resent ones were posted again (the idempotency key made them repeats).
        assert len(messages_in(outbox)) == 3
        assert len(fake.messages) == 3
        assert sorted(r.provider_ref or "" for r in by_channel["sms"]) == sorted(fake.messages)
        assert sorted(r.notification_id or 0 for r in records) == sorted(r.id or 0 for r in rows)


@pytest.mark.e2e
def test_each_crash_during_a_fan_out_repeats_at_most_the_message_in_flight(
    committed_engine: Engine, settings: Settings, policy: Policy, tmp_path: Path
) -> None:
    """Six victims by email through a real SMTP server. Three times a worker sends one message,
    then dies right after the provider accepted the next one; a last worker finishes. Each
    crash may repeat the message it had in flight, under the same Message-ID, and no other."""
    from aiosmtpd.controller import Controller

    from tests.notify.servers import SmtpHandler, free_port

    victims, crashes = 6, 3
    with transaction(committed_engine) as session:
        ingest_service.ingest_event(session=session, candidate=factories.booking(), policy=policy)
        for n in range(victims):
            factories.victim_with_link(
                session, factories.case_of(session), email=f"victim{n}@example.invalid"
            )
        ingest_service.ingest_event(
            session=session,
            policy=policy,
            candidate=factories.event("custody.released", case={"custody_status": "released"}),
        )

    handler = SmtpHandler()
    smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        env = child_env(
            settings.database_url,
            tmp_path / "outbox",
            VOICE_WORKER_LEASE_SECONDS=LEASE_SECONDS,
            VOICE_WORKER_SEND_CONCURRENCY="1",
            VOICE_EMAIL_ADAPTER="smtp",
            VOICE_SMTP_HOST="127.0.0.1",
            VOICE_SMTP_PORT=str(smtp.port),
            VOICE_SMTP_STARTTLS="false",
            CRASH_AFTER_SENDS="1",
        )
        for crash in range(crashes):
            marker = tmp_path / f"in-flight-{crash}"
            victim = subprocess.Popen(
                [
                    sys.executable,
                    str(REPO / "tests" / "e2e" / "crashing_worker.py"),
                    "fan-out",
                    str(marker),
                ],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                wait_for(marker.exists, what="the worker to have a message in flight")
            finally:
                victim.send_signal(signal.SIGKILL)
                victim.wait(timeout=30)
            assert victim.returncode == -signal.SIGKILL
            with Session(committed_engine) as session:
                leases = [
                    r.claimed_until
                    for r in session.exec(select(Notification)).all()
                    if r.claimed_until is not None
                ]
            wait_for(partial(_after, max(leases)), what="the dead worker's lease to expire")
        run_voice(["worker", "--once"], {k: v for k, v in env.items() if k != "CRASH_AFTER_SENDS"})
    finally:
        smtp.stop()

    ids = [str(r.message["Message-ID"]) for r in handler.received]
    copies = {message_id: ids.count(message_id) for message_id in ids}
    with Session(committed_engine) as session:
        rows = session.exec(select(Notification)).all()
        records = session.exec(select(DisclosureRecord)).all()
    assert {r.status for r in rows} == {NotificationStatus.SENT}
    # Every notice arrived; each crash repeated at most its one message in flight.
    assert len(copies) == victims
    assert len(ids) - victims <= crashes
    assert max(copies.values()) <= 2
    assert sorted(r.notification_id or 0 for r in records) == sorted(r.id or 0 for r in rows)
