"""``voice audit``: the accounting of disclosures, and the chain's verification."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from voice.audit import chain
from voice.config import get_settings
from voice.database import make_engine, transaction


def cmd_audit(args: argparse.Namespace) -> int:
    if args.action == "accounting" and not args.subject:
        print("voice audit: error: accounting needs --subject", file=sys.stderr)
        return 2
    engine = make_engine(get_settings().database_url)
    with transaction(engine) as session:
        if args.action == "verify":
            result = chain.verify(session=session)
            print(
                json.dumps({"ok": result.ok, "checked": result.checked, "problem": result.problem})
            )
            return 0 if result.ok else 1
        subject_id = _subject_id(session, args.subject)
        if subject_id is None:
            print(f"no subject {args.subject}", file=sys.stderr)
            return 1
        for line in chain.accounting_for_subject(session=session, subject_id=subject_id):
            print(json.dumps(line, ensure_ascii=False))
    return 0


def _subject_id(session: Any, given: str) -> int | None:
    from sqlmodel import select

    from voice.cases.models import Subject

    if given.isdigit() and session.get(Subject, int(given)) is not None:
        return int(given)
    found: int | None = session.exec(select(Subject.id).where(Subject.upstream_id == given)).first()
    return found


def register(commands: Any) -> None:
    what = "the accounting of disclosures: list a subject's, or verify the hash chain"
    audit = commands.add_parser("audit", help=what, description=what)
    audit.add_argument(
        "action",
        choices=["accounting", "verify"],
        help="accounting: every disclosure about --subject; verify: check the chain",
    )
    audit.add_argument("--subject", help="for accounting: subject id or upstream subject id")
    audit.set_defaults(func=cmd_audit)
