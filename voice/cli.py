"""The ``voice`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from voice import logs, migrate, tracing
from voice.audit import cli as audit_cli
from voice.auth import cli as auth_cli
from voice.config import Settings, get_settings
from voice.database import make_engine, transaction
from voice.disclosure import cli as disclosure_cli
from voice.disclosure.policy import cached_policy, default_policy_path
from voice.holds import cli as hold_cli
from voice.ingest import cli as quarantine_cli
from voice.inquiries import cli as inquiries_cli
from voice.liaison import cli as liaison_cli
from voice.messages import cli as message_cli
from voice.notify import guard_cli
from voice.victims import cli as victims_cli
from voice.webhooks import cli as webhook_cli


def _policy(settings: Settings) -> Any:
    return cached_policy(settings.policy_path or default_policy_path())


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from voice.app import create_app
    from voice.metrics import prepare_multiprocess_metrics
    from voice.serving import served_settings, settings_problem, uvicorn_options

    try:
        settings = served_settings(get_settings(), host=args.host, port=args.port)
    except ValidationError as exc:
        print(f"voice serve: {settings_problem(exc)}", file=sys.stderr)
        return 2
    if args.demo:
        migrate.upgrade(settings.database_url)
        _load_demo(settings, announce=True)
    processes = args.workers or os.cpu_count() or 1
    if processes > 1:
        if not args.no_worker:
            print("voice serve: several processes need --no-worker", file=sys.stderr)
            return 2
        # Each process builds its own app from the environment (voice.app.production_app).
        os.environ["VOICE_PUBLIC_BASE_URL"] = settings.public_base_url
        prepare_multiprocess_metrics()
        print(f"VOICE is serving at {settings.public_base_url} ({processes} processes)", flush=True)
        uvicorn.run(
            "voice.app:production_app",
            factory=True,
            workers=processes,
            # A process still importing on a busy machine is not a hung one: uvicorn's 5 s
            # default would kill and restart it over and over.
            timeout_worker_healthcheck=60,
            host=args.host,
            port=args.port,
            log_level="info",
            **uvicorn_options(settings),
        )
        return 0
    tracing.configure(settings, service="voice-api")
    app = create_app(settings, run_worker=not args.no_worker)
    worker_note = "without a worker" if args.no_worker else "with the in-process worker"
    base = f"http://{args.host}:{args.port}"
    print(f"VOICE is serving {worker_note}:", flush=True)
    print(f"  Staff portal:          {base}/portal", flush=True)
    print(f"  Victims' self-service: {base}/self-service", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", **uvicorn_options(settings))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from voice.worker import make_context, run_worker

    settings = get_settings()
    engine = make_engine(settings.database_url)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("signal %s: finishing the current notification", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    tracing.configure(settings, service="voice-worker")
    ctx = make_context(engine=engine, settings=settings, policy=_policy(settings))
    claimed = run_worker(ctx, stop=stop, once=args.once)
    if args.once:
        print(json.dumps({"claimed": claimed}))
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    url = get_settings().database_url
    if args.action == "upgrade":
        migrate.upgrade(url, args.revision or "head")
    elif args.action == "downgrade":
        migrate.downgrade(url, args.revision or "base")
    elif args.action == "check":
        migrate.check(url)
    else:
        engine = make_engine(url)
        print(
            json.dumps(
                {
                    "current": sorted(migrate.current_revisions(engine)),
                    "head": sorted(migrate.head_revisions()),
                }
            )
        )
    return 0


def _load_demo(settings: Settings, *, announce: bool) -> None:
    from voice.demo.data import load_demo

    engine = make_engine(settings.database_url)
    with transaction(engine) as session:
        summary = load_demo(session=session, policy=_policy(settings))
    print(
        f"Demo data: {summary.subjects} subjects, {summary.victims} victims, "
        f"{summary.events_accepted} new events."
    )
    if announce:
        print("Demo victims' sign-in (on /self-service, or POST /api/v1/self-service/sign-in):")
        for code, pin in summary.credentials[:3]:
            print(f"  Victim ID {code}  PIN {pin}")


def cmd_demo(_: argparse.Namespace) -> int:
    _load_demo(get_settings(), announce=True)
    return 0


def cmd_dev_token(args: argparse.Namespace) -> int:
    """A machine-client token signed with the embedded demo's development key."""
    from voice.auth.machine import mint_development_token

    settings = get_settings()
    if not settings.is_development:
        print("voice dev-token works only with VOICE_ENVIRONMENT=development", file=sys.stderr)
        return 2
    print(mint_development_token(settings, args.scopes or ["events:write"]))
    return 0


def cmd_pii(args: argparse.Namespace) -> int:
    import voice.models  # noqa: F401  (rotation finds the encrypted columns on every table)
    from voice.pii import keyring, rotation

    settings = get_settings()
    keyring.configure(settings)
    engine = make_engine(settings.database_url)
    if args.action == "rotate":
        print(json.dumps({"re_encrypted": rotation.rotate_all(engine)}))
    else:
        with transaction(engine) as session:
            usage = rotation.key_usage(session=session)
        print(json.dumps({"current": keyring.active().current_id, "values_per_key": usage}))
    return 0


def _positive_int(given: str) -> int:
    try:
        value = int(given)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{given!r} is not a positive whole number")
    return value


def _readable_file(given: str) -> Path:
    """An argparse type: a usage error (exit 2, one line) rather than a traceback."""
    path = Path(given)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file: {given}")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"not a file: {given}")
    return path


class RateColumn:
    """Events per second so far (rich's own speed column counts bytes)."""

    def __new__(cls) -> Any:
        from rich.progress import ProgressColumn, Task
        from rich.text import Text

        class _Rate(ProgressColumn):
            def render(self, task: Task) -> Text:
                speed = task.finished_speed or task.speed
                return Text(f"{speed:,.0f} events/s" if speed else "- events/s")

        return _Rate()


@contextmanager
def ingest_progress(*, total: int, force: bool = False) -> Iterator[Callable[[int], None]]:
    """A progress bar with the rate and the time left, on a terminal's stderr; elsewhere
    (a pipe, a log file) nothing, so the JSON lines stay the whole output."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True, force_terminal=force or None)
    progress = Progress(
        TextColumn("ingesting"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not (force or console.is_terminal),
    )
    task = progress.add_task("ingest", total=total)
    with progress:
        yield lambda done: progress.advance(task, done)


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest an NDJSON file in batches; each line is applied or rejected on its own."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    policy = _policy(settings)
    batch_size = args.batch_size or settings.ingest_batch_size
    counts = {"accepted": 0, "duplicate": 0, "quarantined": 0, "rejected": 0}
    try:
        lines = args.file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        print(
            f"voice ingest: error: cannot read {args.file}: {type(exc).__name__}", file=sys.stderr
        )
        return 2
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    started = time.monotonic()
    with ingest_progress(total=len(numbered)) as advance:
        for offset in range(0, len(numbered), batch_size):
            chunk = numbered[offset : offset + batch_size]
            # One transaction per batch; the receipts are printed once it has committed.
            with transaction(engine) as session:
                results = _ingest_lines(session, [line for _, line in chunk], policy, batch_size)
            for (line_number, _), result in zip(chunk, results, strict=True):
                counts[result["status"]] += 1
                print(json.dumps({"line": line_number, **result}), flush=True)
            advance(len(chunk))
    elapsed = time.monotonic() - started
    rate = round(len(numbered) / elapsed, 1) if elapsed > 0 else 0.0
    print(
        json.dumps({"summary": counts, "seconds": round(elapsed, 2), "events_per_second": rate}),
        file=sys.stderr,
    )
    return 1 if counts["rejected"] else 0


def _ingest_lines(
    session: Any, lines: list[str], policy: Any, batch_size: int
) -> list[dict[str, Any]]:
    """Each line's result, in order: unparsable lines are refused here, the rest go through
    the batch path together."""
    from voice.ingest import service

    results: list[dict[str, Any] | None] = []
    candidates: list[Any] = []
    for line in lines:
        try:
            candidates.append(json.loads(line))
        except json.JSONDecodeError as exc:
            error = {"pointer": "", "detail": f"not JSON: {exc.msg}"}
            results.append({"status": "rejected", "errors": [error]})
        else:
            results.append(None)
    applied = iter(
        service.ingest_batch(
            session=session, candidates=candidates, policy=policy, batch_size=batch_size
        )
    )
    out = []
    for result in results:
        if result is None:
            body = next(applied).as_dict()
            body.pop("index")
            result = body
        out.append(result)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voice", description="VOICE victim notification service")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web service")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    serve.add_argument("--no-worker", action="store_true", help="do not run the in-process worker")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API processes (default %(default)s; 0: one per CPU core; more than one needs "
        "--no-worker)",
    )
    serve.add_argument(
        "--demo", action="store_true", help="migrate the database and load demo data before serving"
    )
    serve.set_defaults(func=cmd_serve)

    worker = commands.add_parser("worker", help="run the outbox worker")
    worker.add_argument("--once", action="store_true", help="exit when nothing is due")
    worker.set_defaults(func=cmd_worker)

    db = commands.add_parser("db", help="database migrations")
    db.add_argument(
        "action",
        choices=["upgrade", "downgrade", "current", "check"],
        help="upgrade or downgrade the schema, show the current revision, or check for drift",
    )
    db.add_argument(
        "revision", nargs="?", help="target revision (default: head to upgrade, base to downgrade)"
    )
    db.set_defaults(func=cmd_db)

    demo = commands.add_parser("demo", help="load invented demo data")
    demo.set_defaults(func=cmd_demo)

    dev_token = commands.add_parser(
        "dev-token", help="development only: a machine-client token for the embedded demo"
    )
    dev_token.add_argument("scopes", nargs="*", help="scopes (default: events:write)")
    dev_token.set_defaults(func=cmd_dev_token)

    pii = commands.add_parser("pii", help="encrypted personal data: key usage and rotation")
    pii.add_argument(
        "action",
        choices=["status", "rotate"],
        help="show key usage, or re-encrypt under the current key",
    )
    pii.set_defaults(func=cmd_pii)

    ingest = commands.add_parser(
        "ingest",
        help="ingest events from an NDJSON file",
        description="Ingest events from an NDJSON file, one event a line, in batches (one "
        "transaction each); each line is applied or rejected on its own. A progress bar with "
        "the rate and the time left shows on a terminal, and a summary at the end. Exit "
        "status 1 when a line was rejected.",
    )
    ingest.add_argument("file", type=_readable_file, help="the NDJSON file")
    ingest.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help="events per transaction (default: VOICE_INGEST_BATCH_SIZE, 500)",
    )
    ingest.set_defaults(func=cmd_ingest)

    for register in (
        disclosure_cli.register,
        hold_cli.register,
        quarantine_cli.register,
        audit_cli.register,
        guard_cli.register,
        liaison_cli.register,
        message_cli.register,
        webhook_cli.register,
        auth_cli.register,
        victims_cli.register,
        inquiries_cli.register,
    ):
        register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    import voice.models  # noqa: F401  (every table, so foreign keys resolve in any command)

    logs.configure(logging.INFO)
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
