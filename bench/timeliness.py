"""Seconds from an event's acceptance by the HTTP API until a provider accepts each of its notices.

Setup (untimed): ``--subjects`` booked cases, each with two verified links, one by email and one
by SMS (``seed_cases``). A local SMTP server and a local Twilio-compatible SMS server run as
child processes (``_notify_servers.py``) and record the wall-clock time they first accept each
message. ``voice serve`` runs as a subprocess against them with its real adapters: on SQLite one
process with the in-process worker; on PostgreSQL the API with ``--no-worker`` and two
``voice worker`` processes.

Measured: an open-loop load of ``--rate`` events/s for ``--seconds`` s, each ``POST
/api/v1/events`` sent on schedule whether or not earlier ones were answered. For every notice,
``value`` samples run from the moment its event's POST was answered (201) to the moment the
provider accepted the message; the notice is found by its reference (the SMS's
``Idempotency-Key``, the email's Message-ID, both derived from the notification id).

Baseline: the same providers' round trip for one email and one text sent straight through
the same adapters, no database. Last stdout line: the result contract, with ``value`` and
``baseline`` the p99 in seconds, ``ratio`` = value / baseline (lower is better) and the
target on ``value``: p99 <= 5 s. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import httpx
from _common import (
    DATABASES,
    RESULT_KEYS,
    database_label,
    follow_up,
    percentile,
    quiet_logs,
    seed_cases,
    throwaway_database,
    workspace,
)
from _timeliness_procs import TWILIO_SID, TWILIO_TOKEN, Provider, start_voice, stop
from pydantic import SecretStr
from sqlmodel import Session, col, func, select

from voice.auth.machine import mint_development_token
from voice.cases.models import CaseEvent
from voice.config import EmailAdapterKind, Environment, Settings, SmsAdapterKind
from voice.database import make_engine
from voice.disclosure.policy import cached_policy, default_policy_path
from voice.notify.adapters import build_email_sender, build_sms_sender
from voice.notify.adapters.base import OutgoingEmail, OutgoingSms
from voice.notify.models import Channel, Notification, NotificationStatus
from voice.notify.prepare import message_id_for

TARGET_P99 = 5.0
HANDED_OVER = (NotificationStatus.SENT.value, NotificationStatus.SENDING.value)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    parser.add_argument("--rate", type=float, default=None, help="events per second (50)")
    parser.add_argument("--seconds", type=float, default=None, help="length of the load (60)")
    parser.add_argument("--subjects", type=int, default=None, help="cases the events cycle (100)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 events/s for 4 s")
    args = parser.parse_args()
    args.rate = args.rate or (5.0 if args.quick else 50.0)
    args.seconds = args.seconds or (4.0 if args.quick else 60.0)
    args.subjects = args.subjects or (5 if args.quick else 100)
    if args.rate <= 0 or args.seconds <= 0 or args.subjects < 1:
        parser.error("--rate, --seconds and --subjects must be positive")
    return args


async def open_loop(
    base: str, token: str, events: int, rate: float, subjects: int
) -> tuple[dict[str, float], int, list[float]]:
    """POST event i at start + i / rate, never waiting on earlier answers; returns each
    event's source_event_id -> wall-clock time its 201 arrived, the count of 503s, and each
    event's seconds from when it was due to its 201 (how far the API fell behind)."""
    accepted: dict[str, float] = {}
    refused: list[int] = []
    waits: list[float] = []
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def post(index: int) -> None:
            due = loop.time()
            event = follow_up(index, subjects, prefix="timely")
            answer = await client.post("/api/v1/events", json=event, headers=headers)
            while answer.status_code == 503 and refused.count(index) < 20:
                # What an upstream feed does with "try again shortly"; the clock runs from
                # the acceptance, so the refusals are counted and printed beside the figures.
                refused.append(index)
                await asyncio.sleep(0.5)
                answer = await client.post("/api/v1/events", json=event, headers=headers)
            if answer.status_code != 201:
                raise RuntimeError(f"event {index}: {answer.status_code} {answer.text[:300]}")
            accepted[event["source_event_id"]] = time.time()
            waits.append(loop.time() - due)

        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []
        for index in range(events):
            await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
            tasks.append(asyncio.create_task(post(index)))
        await asyncio.gather(*tasks)
    return accepted, len(refused), waits


def wait_handed_over(url: str, expected: int, deadline: float) -> None:
    engine = make_engine(url)
    try:
        while True:
            with Session(engine) as session:
                done = session.exec(
                    select(func.count())
                    .select_from(Notification)
                    .where(col(Notification.status).in_(HANDED_OVER))
                ).one()
            if done >= expected:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {done} of {expected} notices handed over in time")
            time.sleep(0.2)
    finally:
        engine.dispose()


def notices(url: str) -> list[tuple[int, str, str]]:
    """(notification id, channel, source_event_id) of every notice the load caused."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(Notification.id, Notification.channel, CaseEvent.source_event_id)
                .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
                .where(col(CaseEvent.source_event_id).startswith("timely-"))
            ).all()
        return [(int(n or 0), channel, source) for n, channel, source in rows]
    finally:
        engine.dispose()


def baseline(smtp_port: int, twilio_port: int, pairs: int) -> float:
    """p99 seconds of one email or one text sent straight through the same adapters."""
    settings = Settings(
        environment=Environment.TEST,
        email_adapter=EmailAdapterKind.SMTP,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_starttls=False,
        sms_adapter=SmsAdapterKind.TWILIO,
        twilio_base_url=f"http://127.0.0.1:{twilio_port}",
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=SecretStr(TWILIO_TOKEN),
    )
    email, sms = build_email_sender(settings), build_sms_sender(settings)
    samples = []
    for n in range(pairs):
        ref = f"baseline-{n:06d}"
        started = time.perf_counter()
        email.send(
            message=OutgoingEmail(
                to=f"baseline-{n}@example.invalid",
                sender=settings.email_from,
                subject="Case update",
                text="Your case has an update.",
                html=None,
                message_id=f"<{ref}@voice.invalid>",
                reference=ref,
            )
        )
        samples.append(time.perf_counter() - started)
        started = time.perf_counter()
        sms.send(
            message=OutgoingSms(
                to=f"+1555099{n:04d}", sender=settings.sms_from, body="Update.", reference=ref
            )
        )
        samples.append(time.perf_counter() - started)
    return percentile(samples, 0.99)


def main() -> None:
    args = parse_args()
    quiet_logs()
    events = round(args.rate * args.seconds)
    with workspace() as tmp, throwaway_database(args.database, tmp) as url:
        engine = make_engine(url)
        links = seed_cases(
            engine=engine, policy=cached_policy(default_policy_path()), subjects=args.subjects
        )
        label = database_label(engine)
        engine.dispose()
        smtp, twilio = Provider("smtp", tmp), Provider("twilio", tmp)
        processes: list[subprocess.Popen[bytes]] = []
        try:
            env = voice_env(url, tmp, smtp.port, twilio.port)
            # What `voice dev-token events:write` prints, minted here to spare a slow start-up.
            dev = Settings(environment=Environment.DEVELOPMENT, database_url=url)
            token = mint_development_token(dev, ["events:write"], ttl=3600 + int(args.seconds))
            api, processes = start_voice(args.database, env, tmp)
            accepted, refusals, waits = asyncio.run(
                open_loop(api, token, events, args.rate, args.subjects)
            )
            wait_handed_over(url, 2 * events, time.monotonic() + 120 + args.seconds)
            base_p99 = baseline(smtp.port, twilio.port, min(events, 50))
        finally:
            stop(processes)
            smtp_times, twilio_times = smtp.stop(), twilio.stop()
        rows = notices(url)
    email_from = Settings().email_from
    samples: dict[str, list[float]] = {Channel.EMAIL.value: [], Channel.SMS.value: []}
    for notification_id, channel, source_event_id in rows:
        reference = f"n-{notification_id:08d}"
        if channel == Channel.EMAIL.value:
            provider_at = smtp_times.get(message_id_for(reference, email_from))
        else:
            provider_at = twilio_times.get(reference)
        if provider_at is None or source_event_id not in accepted:
            raise RuntimeError(f"notice {reference} ({channel}) was not accepted by its provider")
        samples[channel].append(provider_at - accepted[source_event_id])
    every = samples[Channel.EMAIL.value] + samples[Channel.SMS.value]
    if len(accepted) != events or len(every) != 2 * events:
        raise RuntimeError(f"{len(accepted)} events accepted, {len(every)} notices measured")
    p99 = percentile(every, 0.99)
    workers = (
        "1 process, in-process worker"
        if args.database == "sqlite"
        else ("API --no-worker + 2 `voice worker` processes")
    )
    span = max(1e-9, max(accepted.values()) - min(accepted.values()))
    figures = [
        ("database", label),
        ("processes", workers),
        ("load", f"{args.rate:g} events/s open loop for {args.seconds:g} s = {events} events"),
        ("refused", f"{refusals} answers of 503 (retried after 0.5 s)"),
        (
            "accepted",
            # The clock of each notice starts at its event's 201: an API slower than the load
            # shows here, and the worker then saw a lighter load than the one offered.
            f"last 201 {span:.1f} s after the first ({(len(accepted) - 1) / span:.1f} "
            f"events/s); due -> 201 p50 {percentile(waits, 0.5):.3f} s, "
            f"p99 {percentile(waits, 0.99):.3f} s",
        ),
        ("cases", f"{args.subjects}, {links} verified links (one email, one SMS each)"),
    ]
    for name, values in [("all notices", every), *samples.items()]:
        figures.append(
            (
                name,
                f"p50 {percentile(values, 0.5):.3f} s, p99 {percentile(values, 0.99):.3f} s, "
                f"max {max(values):.3f} s over {len(values)}",
            )
        )
    figures.append(("baseline", f"p99 {base_p99 * 1000:.1f} ms per bare send, same adapters"))
    width = max(len(name) for name, _ in figures)
    for name, figure in figures:
        print(f"{name:<{width}}  {figure}")
    verdict = "meets" if p99 <= TARGET_P99 else "MISSES"
    print(f"{'target':<{width}}  {verdict}: p99 <= {TARGET_P99:g} s (event accepted -> provider)")
    value, base = round(p99, 5), round(base_p99, 5)
    body = {
        "name": f"timeliness_{args.database}",
        "value": value,
        "unit": "s",
        "baseline": base,
        "ratio": round(value / base, 4) if base > 0 else 0.0,
        "target": TARGET_P99,
    }
    assert tuple(body) == RESULT_KEYS
    print(json.dumps(body), flush=True)


def voice_env(url: str, tmp: Path, smtp_port: int, twilio_port: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOICE_")},
        "VOICE_ENVIRONMENT": "development",  # safe test mode: the seeded recipients are examples
        "VOICE_DATABASE_URL": url,
        "VOICE_OUTBOX_DIR": str(tmp / "outbox"),
        "VOICE_EMAIL_ADAPTER": "smtp",
        "VOICE_SMTP_HOST": "127.0.0.1",
        "VOICE_SMTP_PORT": str(smtp_port),
        "VOICE_SMTP_STARTTLS": "false",
        "VOICE_SMS_ADAPTER": "twilio",
        "VOICE_TWILIO_BASE_URL": f"http://127.0.0.1:{twilio_port}",
        "VOICE_TWILIO_ACCOUNT_SID": TWILIO_SID,
        "VOICE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        # A steady stream of releases is the load here, not a mass event to hold for review.
        "VOICE_GUARD_MAX_CRITICAL_EVENTS": "100000000",
        "VOICE_GUARD_MAX_CASE_SHARE": "1.0",
        # The share test counts from this many events; with 100 cases and 3,000 events a
        # sixth of them releases, it would trip the guard a few seconds into the load.
        "VOICE_GUARD_MIN_EVENTS": "100000000",
    }


if __name__ == "__main__":
    main()
