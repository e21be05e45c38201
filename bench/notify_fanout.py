"""Seconds from one status change on a case with 10,000 verified links (half email, half SMS)
until every notice has been accepted by the providers.

Setup (untimed): one case, booked; 10,000 registrants linked and verified, half by email and
half by SMS (every other one in Spanish). A local SMTP server and a local server speaking
Twilio's Messages API are started by the script as child processes (``_notify_servers.py``).
The service uses its real adapters, ``SmtpEmailSender`` and ``TwilioSmsSender`` (httpx).

Measured (``value``): from ingesting the release event (which writes the 10,000 outbox rows in
its transaction) until ``voice worker --once`` (``run_worker(..., once=True)``, in process) has
nothing left: every email accepted by the SMTP server and recorded ``sent``, every text
accepted by the SMS provider and recorded as handed over, each with its disclosure record.

Baseline (``baseline``), in the same run: the very messages the service sent (captured on
their way out), sent again under fresh references straight through new instances of the same
adapters, on the same number of threads, with no database and no rendering.

Last stdout line: ``{"name", "value", "unit", "baseline", "ratio", "target"}``; ``value`` and
``baseline`` are seconds, ``ratio`` = value / baseline (the service's overhead factor, lower is
better) and the target is on ``value``: all notices accepted within 60 s. See bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _common import (
    DATABASES,
    RESULT_KEYS,
    Result,
    booking,
    case_number,
    database_label,
    quiet_logs,
    subject_id,
    throwaway_database,
    workspace,
)
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from voice.audit.models import DisclosureRecord
from voice.cases.models import Case
from voice.config import EmailAdapterKind, Environment, Settings, SmsAdapterKind
from voice.database import make_engine, transaction, utcnow
from voice.disclosure.policy import cached_policy, default_policy_path
from voice.ingest.service import ingest_event
from voice.notify.adapters import build_email_sender, build_sms_sender
from voice.notify.adapters.base import EmailSender, OutgoingEmail, OutgoingSms, SmsSender
from voice.notify.models import Notification, NotificationStatus
from voice.victims.models import Victim, VictimCaseLink
from voice.worker import make_context, run_worker

TARGET_SECONDS = 60.0
DEFAULT_LINKS = 10_000
QUICK_LINKS = 100
HERE = Path(__file__).resolve().parent
TWILIO_SID = "AC00000000000000000000000000000042"
TWILIO_TOKEN = "bench-token"


class SecondsResult(Result):
    """Seconds, to the millisecond: a quick run takes well under a second, and the ratio is
    computed from the printed figures so the two always agree."""

    def line(self) -> str:
        value, baseline = round(self.value, 3), round(self.baseline, 3)
        body = {
            "name": self.name,
            "value": value,
            "unit": self.unit,
            "baseline": baseline,
            "ratio": round(value / baseline, 4) if baseline > 0 else 0.0,
            "target": self.target,
        }
        assert tuple(body) == RESULT_KEYS
        return json.dumps(body)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    parser.add_argument("--links", type=int, default=None, help=f"verified links ({DEFAULT_LINKS})")
    parser.add_argument("--quick", action="store_true", help=f"smoke run ({QUICK_LINKS} links)")
    parser.add_argument("--batch-size", type=int, default=100, help="worker batch size (100)")
    parser.add_argument("--concurrency", type=int, default=8, help="send threads (8)")
    args = parser.parse_args()
    if args.links is None:
        args.links = QUICK_LINKS if args.quick else DEFAULT_LINKS
    if args.links < 2:
        parser.error("--links must be at least 2")
    return args


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Provider:
    """One local provider in a child process."""

    def __init__(self, kind: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "_notify_servers.py"), kind, str(self.port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the {kind} server did not start")

    def stop(self) -> dict[str, int]:
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        counts: dict[str, int] = json.loads(out.strip().splitlines()[-1])
        return counts


def seed(engine: Engine, links: int) -> None:
    """One booked case and ``links`` verified registrants, inserted in bulk (untimed)."""
    policy = cached_policy(default_policy_path())
    with transaction(engine) as session:
        ingest_event(session=session, candidate=booking(0), policy=policy)
        case_id = session.exec(select(Case.id).where(Case.case_number == case_number(0))).one()
    now = utcnow()
    victims = []
    for n in range(links):
        by_email = n % 2 == 0
        victims.append(
            {
                "first_name": "Vera",
                "last_name": f"Victim{n}",
                "preferred_language": "es" if n % 4 >= 2 else "en",
                "email": f"victim-{n}@example.invalid" if by_email else None,
                "email_verified": by_email,
                "phone": None if by_email else f"+1555{n:07d}",
                "phone_verified": not by_email,
                "active": True,
                "created_at": now,
            }
        )
    with transaction(engine) as session:
        session.execute(sa.insert(Victim), victims)
        rows = session.exec(select(Victim.id, Victim.email).order_by(col(Victim.id))).all()
        session.execute(
            sa.insert(VictimCaseLink),
            [
                {
                    "victim_id": victim_id,
                    "case_id": case_id,
                    "relationship": "victim",
                    "verification_status": "verified",
                    "notify_email": email is not None,
                    "notify_sms": email is None,
                    "created_at": now,
                    "verified_at": now,
                }
                for victim_id, email in rows
            ],
        )


def release_event() -> dict[str, Any]:
    return {
        "source": "enforce",
        "source_event_id": "fanout-release",
        "occurred_at": "2026-11-20T10:00:00Z",
        "event_type": "custody.released",
        "subject": {"subject_id": subject_id(0)},
        "case": {
            "case_number": case_number(0),
            "custody_status": "released",
            "release_type": "order_of_supervision",
            "release_address": "12 Example Street, Sampletown, TX 75001",
        },
        "markings": {"/case/release_address": "CUI//SP-PRVCY"},
    }


@dataclasses.dataclass
class Capture:
    """Passes messages on to the real sender and keeps a copy, for the baseline."""

    inner: Any
    sent: list[Any] = dataclasses.field(default_factory=list)

    @property
    def has_receipts(self) -> bool:
        return bool(getattr(self.inner, "has_receipts", False))

    def send(self, *, message: Any) -> str:
        ref: str = self.inner.send(message=message)
        self.sent.append(message)
        return ref


def baseline(settings: Settings, emails: list[OutgoingEmail], texts: list[OutgoingSms]) -> float:
    """The same messages, under fresh references, straight through the same adapters."""
    email_sender: EmailSender = build_email_sender(settings)
    sms_sender: SmsSender = build_sms_sender(settings)
    jobs: list[Any] = [
        (
            email_sender,
            dataclasses.replace(
                m, reference="b" + m.reference, message_id=m.message_id.replace("<", "<b", 1)
            ),
        )
        for m in emails
    ]
    jobs += [(sms_sender, dataclasses.replace(m, reference="b" + m.reference)) for m in texts]
    jobs.sort(key=lambda job: job[1].reference)  # interleaved like the outbox's id order

    def send(job: Any) -> str:
        sender, message = job
        return str(sender.send(message=message))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=settings.worker_send_concurrency) as pool:
        refs = list(pool.map(send, jobs))
    elapsed = time.perf_counter() - started
    if len(refs) != len(jobs):
        raise RuntimeError("the baseline lost messages")
    return elapsed


def main() -> None:
    args = parse_args()
    quiet_logs()
    policy = cached_policy(default_policy_path())
    smtp, twilio = Provider("smtp"), Provider("twilio")
    try:
        with workspace() as tmp, throwaway_database(args.database, tmp) as url:
            engine = make_engine(url)
            seed(engine, args.links)
            settings = Settings(
                environment=Environment.TEST,  # safe test mode: only example recipients
                database_url=url,
                outbox_dir=tmp / "outbox",
                email_adapter=EmailAdapterKind.SMTP,
                smtp_host="127.0.0.1",
                smtp_port=smtp.port,
                smtp_starttls=False,
                sms_adapter=SmsAdapterKind.TWILIO,
                twilio_base_url=f"http://127.0.0.1:{twilio.port}",
                twilio_account_sid=TWILIO_SID,
                twilio_auth_token=SecretStr(TWILIO_TOKEN),
                worker_batch_size=args.batch_size,
                worker_send_concurrency=args.concurrency,
            )
            ctx = make_context(engine=engine, settings=settings, policy=policy)
            emails, texts = Capture(ctx.email), Capture(ctx.sms)
            ctx = dataclasses.replace(ctx, email=emails, sms=texts)

            started = time.perf_counter()
            with transaction(engine) as session:
                receipt = ingest_event(session=session, candidate=release_event(), policy=policy)
            ingested = time.perf_counter()
            claimed = run_worker(ctx, stop=threading.Event(), once=True)
            value = time.perf_counter() - started

            check(engine, args.links, receipt.notifications, claimed, emails.sent, texts.sent)
            base = baseline(settings, emails.sent, texts.sent)
            label = database_label(engine)
            engine.dispose()
    finally:
        smtp_counts, twilio_counts = smtp.stop(), twilio.stop()
    half = args.links // 2
    if smtp_counts["unique"] != 2 * (args.links - half) or twilio_counts["unique"] != 2 * half:
        raise RuntimeError(f"providers saw {smtp_counts} (SMTP) and {twilio_counts} (SMS)")
    result = SecondsResult(
        name=f"notify_fanout_{args.database}",
        value=value,
        unit="s",
        baseline=base,
        target=TARGET_SECONDS,
    )
    figures = [
        ("database", label),
        ("workload", f"1 release event, {args.links} verified links, half email, half SMS"),
        ("worker", f"batch {args.batch_size}, {args.concurrency} send threads"),
        ("ingest (fan-out)", f"{ingested - started:.2f} s for {receipt.notifications} rows"),
        ("all accepted", f"{value:.2f} s ({args.links / value:.0f} notices/s)"),
        ("baseline", f"{base:.2f} s ({args.links / base:.0f} messages/s, same adapters)"),
        ("providers", f"SMTP {smtp_counts}, SMS {twilio_counts} (service + baseline)"),
        ("overhead", f"{result.ratio:.2f}x the bare sends (value / baseline)"),
    ]
    width = max(len(name) for name, _ in figures)
    for name, figure in figures:
        print(f"{name:<{width}}  {figure}")
    verdict = "meets" if value <= TARGET_SECONDS else "MISSES"
    print(f"{'target':<{width}}  {verdict}: all accepted within {TARGET_SECONDS:.0f} s")
    print(result.line(), flush=True)


def check(
    engine: Engine,
    links: int,
    queued: int,
    claimed: int,
    emails: list[OutgoingEmail],
    texts: list[OutgoingSms],
) -> None:
    """Fail loudly unless every notice was accepted once and accounted for."""
    with Session(engine) as session:
        counts = dict(
            session.exec(
                select(Notification.status, func.count()).group_by(col(Notification.status))
            ).all()
        )
        records = session.exec(select(func.count()).select_from(DisclosureRecord)).one()
    half = links // 2
    expected = {
        NotificationStatus.SENT.value: links - half,  # email: no receipts, accepted is final
        NotificationStatus.SENDING.value: half,  # SMS: handed over, the receipt to come
    }
    if queued != links or claimed != links or counts != expected or records != links:
        raise RuntimeError(
            f"{queued} queued, {claimed} claimed, statuses {counts}, {records} disclosure records"
        )
    if len(emails) != links - half or len(texts) != half:
        raise RuntimeError(f"{len(emails)} emails and {len(texts)} texts went out")


if __name__ == "__main__":
    main()
