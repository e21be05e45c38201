"""Kill the worker with SIGKILL between claiming a notification and finishing it: after a
restart the notification is sent exactly once, and none is lost."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests import factories
from tests.e2e.helpers import REPO, child_env, messages_in, run_voice, wait_for
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure.models import DisclosureRecord
from voice.disclosure.policy import Policy
from voice.ingest import service as ingest_service
from voice.notify.models import Notification, NotificationStatus

LEASE_SECONDS = "1"


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
