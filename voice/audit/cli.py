"""``voice audit``: the accounting of disclosures, and the chain's verification."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from voice.audit import anchor_cli, chain
from voice.config import get_settings
from voice.database import make_engine, transaction


def cmd_audit(args: argparse.Namespace) -> int:
    if args.action == "accounting" and not args.subject:
        print("voice audit: error: accounting needs --subject", file=sys.stderr)
        return 2
    engine = make_engine(get_settings().database_url)
    with transaction(engine) as session:
        if args.action in ("verify", "checkpoint"):
            # Both chains, and the signed checkpoints that anchor them outside the database.
            status = anchor_cli.run(session=session, settings=get_settings(), action=args.action)
            if args.action == "verify" and args.metrics_file is not None:
                _write_metric(args.metrics_file, ok=status == 0)
            return status
        subject_id = _subject_id(session, args.subject)
        if subject_id is None:
            print(f"no subject {args.subject}", file=sys.stderr)
            return 1
        for line in chain.accounting_for_subject(session=session, subject_id=subject_id):
            print(json.dumps(line, ensure_ascii=False))
    return 0


def _write_metric(path: Path, *, ok: bool) -> None:
    """The result for Prometheus's node-exporter textfile collector, written whole or not at
    all, so a scrape never reads half a file (the VoiceAccountingChainFailing alert)."""
    text = (
        "# HELP voice_audit_verify_ok 1 when the accounting of disclosures verified\n"
        "# TYPE voice_audit_verify_ok gauge\n"
        f"voice_audit_verify_ok {1 if ok else 0}\n"
    )
    partial = path.with_suffix(path.suffix + ".tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _subject_id(session: Any, given: str) -> int | None:
    from sqlmodel import select

    from voice.cases.models import Subject

    if given.isdigit() and session.get(Subject, int(given)) is not None:
        return int(given)
    found: int | None = session.exec(select(Subject.id).where(Subject.upstream_id == given)).first()
    return found


def register(commands: Any) -> None:
    audit = commands.add_parser(
        "audit",
        help="the accounting of disclosures",
        description=(
            "accounting: one subject's disclosures as JSON lines; verify: check the hash chains "
            "(records and recipient references) and the signed checkpoints in "
            "VOICE_AUDIT_CHECKPOINT_DIR; checkpoint: write a signed checkpoint of both chains' "
            "heads now (the worker does so every periodic run)"
        ),
    )
    audit.add_argument(
        "action",
        choices=["accounting", "verify", "checkpoint"],
        help="accounting: every disclosure about --subject; verify: check the chains and "
        "checkpoints; checkpoint: write a signed checkpoint now",
    )
    audit.add_argument("--subject", help="for accounting: subject id or upstream subject id")
    audit.add_argument(
        "--metrics-file",
        type=Path,
        help="for verify: also write the result as a Prometheus textfile (default: none)",
    )
    audit.set_defaults(func=cmd_audit)
