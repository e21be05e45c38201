"""Self-service lookups per second by a signed-in victim with 3 linked cases, against a bare
FastAPI endpoint that returns the same JSON: each on a real uvicorn server, loaded with 64
concurrent connections from a separate load-generating process, in alternating rounds.

Each VOICE lookup does the real work: session check, access matrix, the victim's links, the
disclosure filter per case, and one accounting-of-disclosures record per case, committed
before the answer leaves. The baseline is the bare JSON from an ``async def`` route; the same
from a plain ``def`` route (run on a worker thread) is measured and printed beside it.

``--open-loop`` instead sends a fixed rate (200 lookups/s for 10 s) whatever the answers, to
VOICE and then to the bare route, and reports latency from each request's due time: p50, p99
and max, and the rate achieved. Its result line's ``value`` is VOICE's p99 in ms, its
``baseline`` the bare route's, and the target (50 ms) is on ``value``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from _common import (
    DATABASES,
    Result,
    booking,
    database_label,
    quiet_logs,
    report,
    split,
    throwaway_database,
    workspace,
)
from sqlmodel import Session

from voice.cases.models import Case
from voice.config import Settings
from voice.database import make_engine
from voice.disclosure.policy import cached_policy, default_policy_path
from voice.ingest.service import ingest_event
from voice.victims import service as victim_service
from voice.victims import signin as victim_signin

HERE = Path(__file__).resolve().parent
PATH = "/api/v1/self-service/cases"
KINDS = ("voice", "bare", "bare-def")
TARGET_RATIO = 0.25
TARGET_P99_MS = 50.0
# Bench JSON output contract: the result line's keys, in this order (bench/README.md).
RESULT_KEYS = ("name", "value", "unit", "baseline", "ratio", "target")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    parser.add_argument("--requests", type=int, default=None, help="lookups per server (4000)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (4)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 requests, 2 rounds")
    parser.add_argument(
        "--open-loop", action="store_true", help="a fixed rate, timed from each request's due time"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="open loop: lookups/s (200)")
    parser.add_argument("--seconds", type=float, default=None, help="open loop: duration (10)")
    args = parser.parse_args()
    if args.requests is None:
        args.requests = 200 if args.quick else 4000
    if args.seconds is None:
        args.seconds = 1.0 if args.quick else 10.0
    if args.quick:
        args.rounds = min(args.rounds, 2)
    return args


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _seed(url: str) -> str:
    """Three booked cases, one victim linked (verified) to all three, and a session for them."""
    engine = make_engine(url)
    policy = cached_policy(default_policy_path())
    settings = Settings(database_url=url)
    with Session(engine, expire_on_commit=False) as session:
        cases = [
            session.get_one(
                Case, ingest_event(session=session, candidate=booking(i), policy=policy).case_id
            )
            for i in range(3)
        ]
        victim, _ = victim_service.register_victim(
            session=session, first_name="Bench", last_name="Victim", email="b@example.invalid"
        )
        for case in cases:
            victim_service.link_victim(session=session, victim=victim, case=case, verified=True)
        issued = victim_signin.create_session(session=session, victim=victim, settings=settings)
        session.commit()
    engine.dispose()
    return issued.token


def _serve(
    kind: str, port: int, env: dict[str, str], cwd: Path, *extra: str
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "_lookup_server.py"), kind, str(port), *extra],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # A loaded machine can take minutes to import and start the app.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{kind} server exited: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f"{kind} server did not start")


def _load(port: int, token: str, env: dict[str, str], *how: str) -> dict[str, float]:
    """Run the load generator: ``how`` is CONNECTIONS REQUESTS, or ``open`` RATE SECONDS."""
    result = subprocess.run(
        [sys.executable, str(HERE / "_load.py"), f"http://127.0.0.1:{port}{PATH}", token, *how],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the load generator failed: {result.stderr[-1500:]}")
    figures: dict[str, float] = json.loads(result.stdout)
    if figures["failures"]:
        raise RuntimeError(f"{figures['failures']} lookups failed")
    return figures


def _servers(
    token: str, env: dict[str, str], tmp: Path, kinds: tuple[str, ...]
) -> tuple[dict[str, int], list[subprocess.Popen[str]]]:
    """Start VOICE, check its answer, then the bare servers that return that same answer."""
    ports = {kind: _free_port() for kind in kinds}
    servers = [_serve("voice", ports["voice"], env, tmp)]
    try:
        answer = httpx.get(
            f"http://127.0.0.1:{ports['voice']}{PATH}",
            headers={"Authorization": f"Bearer {token}"},
        )
        answer.raise_for_status()
        assert answer.json()["count"] == 3
        body = tmp / "body.json"
        body.write_text(answer.text, encoding="utf-8")
        for kind in kinds[1:]:
            servers.append(_serve(kind, ports[kind], env, tmp, str(body)))
    except BaseException:
        _stop(servers)
        raise
    return ports, servers


def _stop(servers: list[subprocess.Popen[str]]) -> None:
    for server in servers:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _accounted(url: str) -> tuple[str, int]:
    engine = make_engine(url)
    label = database_label(engine)
    with engine.connect() as connection:
        records = connection.execute(sa.text("SELECT count(*) FROM disclosure_record")).scalar_one()
    engine.dispose()
    return label, records


def _environment(url: str, tmp: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOICE_")},
        "VOICE_ENVIRONMENT": "development",
        "VOICE_DATABASE_URL": url,
        "VOICE_OUTBOX_DIR": str(tmp / "outbox"),
        "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE)]),
    }


def open_loop(args: argparse.Namespace) -> None:
    """A fixed rate to VOICE, then the same to the bare ``async def`` route."""
    with workspace() as tmp, throwaway_database(args.database, tmp) as url:
        token = _seed(url)
        env = _environment(url, tmp)
        ports, servers = _servers(token, env, tmp, ("voice", "bare"))
        try:
            how = ("open", str(args.rate), str(args.seconds))
            # A short warm-up at the same rate, so neither side is timed while cold.
            warm = ("open", str(args.rate), str(min(1.0, args.seconds)))
            figures = {}
            for kind in ("voice", "bare"):
                _load(ports[kind], token, env, *warm)
                figures[kind] = _load(ports[kind], token, env, *how)
        finally:
            _stop(servers)
        label, records = _accounted(url)
    voice, bare = figures["voice"], figures["bare"]
    # The first check, the warm-up and the timed run, each run opening 8 warm connections.
    lookups = 1 + (8 + round(args.rate * min(1.0, args.seconds))) + (8 + voice["requests"])
    verdict = "meets" if voice["p99_ms"] < TARGET_P99_MS else "ABOVE"
    rows = [
        ("database", label),
        ("workload", f"open loop, {args.rate:g} lookups/s for {args.seconds:g} s, 3 linked cases"),
    ]
    for kind, f in figures.items():
        rows += [
            (
                f"{kind} latency from due time",
                f"p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms, max {f['max_ms']:.1f} ms",
            ),
            (
                f"{kind} rate achieved",
                f"{f['answered_rate']:.1f} answered/s, sent on schedule at {f['sent_rate']:.1f}/s, "
                f"{f['connections']:.0f} connections",
            ),
        ]
    rows += [
        ("voice p99 target", f"{verdict} < {TARGET_P99_MS:.0f} ms"),
        ("accounting records", f"{records} (3 per lookup: {3 * lookups:.0f} expected)"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, figure in rows:
        print(f"{name:<{width}}  {figure}")
    value, baseline = round(voice["p99_ms"], 2), round(bare["p99_ms"], 2)
    body = {
        "name": f"lookup_open_loop_{args.database}",
        "value": value,
        "unit": "ms",
        "baseline": baseline,
        "ratio": round(value / baseline, 4) if baseline > 0 else 0.0,
        "target": TARGET_P99_MS,
    }
    assert tuple(body) == RESULT_KEYS
    print(json.dumps(body), flush=True)


def closed_loop(args: argparse.Namespace) -> None:
    with workspace() as tmp, throwaway_database(args.database, tmp) as url:
        token = _seed(url)
        env = _environment(url, tmp)
        ports, servers = _servers(token, env, tmp, KINDS)
        try:
            measured = {kind: [0.0, 0.0] for kind in KINDS}
            worst_p99 = dict.fromkeys(KINDS, 0.0)
            pairs = []
            for chunk in split(args.requests, args.rounds):
                round_times = {}
                for kind in KINDS:
                    figures = _load(ports[kind], token, env, str(args.connections), str(chunk))
                    measured[kind][0] += figures["requests"]
                    measured[kind][1] += figures["elapsed"]
                    worst_p99[kind] = max(worst_p99[kind], figures["p99_ms"])
                    round_times[kind] = figures["elapsed"]
                pairs.append((round_times["voice"], round_times["bare"]))
        finally:
            _stop(servers)
        label, records = _accounted(url)
    rate = {kind: measured[kind][0] / measured[kind][1] for kind in KINDS}
    voice_rate, bare_rate = rate["voice"], rate["bare"]
    # A closed loop keeps every connection waiting on one request, so the mean latency is
    # connections / throughput (Little's law): a p99 under the target needs at least this rate.
    needed = args.connections / (TARGET_P99_MS / 1000)
    p99_verdict = "meets" if worst_p99["voice"] < TARGET_P99_MS else "ABOVE"
    ratios = sorted(b / v for v, b in pairs if v > 0)
    report(
        [
            ("database", label),
            (
                "workload",
                f"{args.requests} lookups per server, {args.connections} connections, "
                "3 linked cases",
            ),
            ("voice lookups/s", f"{voice_rate:.1f}"),
            ("bare lookups/s", f"{bare_rate:.1f} (async def route: the baseline)"),
            (
                "bare-def lookups/s",
                f"{rate['bare-def']:.1f} (def route, on a worker thread; "
                f"voice / bare-def = {voice_rate / rate['bare-def']:.4f})",
            ),
            (
                "voice p99 (worst round)",
                f"{worst_p99['voice']:.1f} ms ({p99_verdict} target < {TARGET_P99_MS:.0f} ms)",
            ),
            ("bare p99 (worst round)", f"{worst_p99['bare']:.1f} ms"),
            ("bare-def p99 (worst round)", f"{worst_p99['bare-def']:.1f} ms"),
            (
                "rate a p99 < 50 ms needs",
                f"at least {needed:.0f} lookups/s with {args.connections} connections "
                "(Little's law; voice reached "
                f"{voice_rate / needed:.0%} of it)",
            ),
            ("accounting records", f"{records} (3 per lookup, warm-ups included)"),
            ("per-round ratio", f"{ratios[0]:.4f} .. {ratios[-1]:.4f} over {len(ratios)} rounds"),
        ],
        Result(
            name=f"lookup_throughput_{args.database}",
            value=voice_rate,
            unit="lookups/s",
            baseline=bare_rate,
            target=TARGET_RATIO,
        ),
    )


def main() -> None:
    args = _args()
    quiet_logs()
    if args.open_loop:
        open_loop(args)
    else:
        closed_loop(args)


if __name__ == "__main__":
    main()
