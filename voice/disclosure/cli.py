"""``voice policy|hold|quarantine|audit``: the disclosure domain's commands."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from voice.config import get_settings
from voice.database import make_engine, transaction
from voice.disclosure.audiences import Audience
from voice.disclosure.policy import Policy, PolicyError, cached_policy, default_policy_path


def _load(args: argparse.Namespace) -> Policy:
    path = args.policy or get_settings().policy_path or default_policy_path()
    return cached_policy(Path(path))


def cmd_policy(args: argparse.Namespace) -> int:
    try:
        policy = _load(args)
    except PolicyError as exc:
        print(f"policy invalid: {exc}", file=sys.stderr)
        return 1
    if args.action == "check":
        return _check(policy)
    if args.action == "table":
        _print_table(policy)
        return 0
    return _explain(policy, args)


def _check(policy: Policy) -> int:
    failures = policy.failed_examples()
    for rule_id, audience, key, field_class, marking in policy.table.errors[:20]:
        print(
            f"error: rule {rule_id} failed to evaluate ({audience}, flags {key}, "
            f"{field_class}, {marking}); such cells withhold",
            file=sys.stderr,
        )
    for failure in failures:
        print(f"fail: {failure}", file=sys.stderr)
    print(
        json.dumps(
            {
                "version": policy.version,
                "sha256": policy.sha256,
                "rules": len(policy.rules),
                "cells": sum(
                    len(row) * len(next(iter(row.values()))) for row in policy.table.cells.values()
                ),
                "examples": len(policy.examples),
                "failed_examples": len(failures),
                "evaluation_errors": len(policy.table.errors),
            }
        )
    )
    return 1 if failures or policy.table.errors else 0


def _print_table(policy: Policy) -> None:
    from voice.disclosure.compiler import MARKING_ORDER, flags_of

    for (audience, key), by_class in policy.table.cells.items():
        flags = flags_of(key)
        for field_class, decisions in by_class.items():
            for marking, decision in zip(MARKING_ORDER, decisions, strict=True):
                print(
                    json.dumps(
                        {
                            "audience": audience,
                            **flags,
                            "field_class": field_class,
                            "marking": marking.value,
                            "decision": "release" if decision.release else "withhold",
                            "rule_id": decision.rule_id,
                            "basis": decision.basis,
                        }
                    )
                )


def _explain(policy: Policy, args: argparse.Namespace) -> int:
    from voice.disclosure import spillage
    from voice.disclosure.filter import disclose
    from voice.disclosure.records import payload_record

    try:
        event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"cannot read the event: {type(exc).__name__}", file=sys.stderr)
        return 2
    if spillage.scan(event) is not None:
        # Nothing of the content, and not the rule's details either: only that it is spillage.
        print(
            "spillage: the event carries a classified marking; it was not explained. "
            "Report it to security staff.",
            file=sys.stderr,
        )
        return 3
    if not isinstance(event, dict):
        print("the event must be a JSON object", file=sys.stderr)
        return 2
    view = disclose(payload_record(event), audience=Audience(args.audience), policy=policy)
    out: dict[str, Any] = {
        "audience": view.audience.value,
        "policy_version": policy.version,
        "policy_sha256": policy.sha256,
        "disclosed": view.nested(),
        "withheld": [
            {
                "pointer": "/" + w.field.replace(".", "/", 1).removeprefix("event/"),
                "rule_id": w.rule_id,
                "basis": w.basis,
            }
            for w in view.withheld
        ],
    }
    if view.message:
        out["message"] = view.message
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def _parse_when(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cmd_hold(args: argparse.Namespace) -> int:
    from voice.disclosure import holds

    needed = {"set": ("case_id", "reason", "by"), "lift": ("hold_id", "by"), "list": ()}
    missing = [name for name in needed[args.action] if getattr(args, name) is None]
    if missing:
        flags = ", ".join("--" + name.replace("_", "-") for name in missing)
        print(f"hold {args.action} needs {flags}", file=sys.stderr)
        return 2
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(engine) as session:
            if args.action == "set":
                expires = (
                    _parse_when(args.until)
                    if args.until
                    else datetime.now(UTC) + timedelta(days=args.days)
                )
                hold = holds.set_hold(
                    session=session,
                    case_id=args.case_id,
                    reason=args.reason,
                    set_by=args.by,
                    expires_at=expires,
                )
                print(
                    json.dumps(
                        {
                            "hold_id": hold.id,
                            "case_id": hold.case_id,
                            "expires_at": hold.expires_at.isoformat(),
                        }
                    )
                )
            elif args.action == "lift":
                hold = holds.lift_hold(
                    session=session, hold_id=args.hold_id, lifted_by=args.by, note=args.note or ""
                )
                print(json.dumps({"hold_id": hold.id, "lifted_at": str(hold.lifted_at)}))
            else:
                for hold in holds.list_holds(session=session, include_inactive=args.all):
                    print(
                        json.dumps(
                            {
                                "hold_id": hold.id,
                                "case_id": hold.case_id,
                                "reason": hold.reason,
                                "set_by": hold.set_by,
                                "set_at": hold.set_at.isoformat(),
                                "expires_at": hold.expires_at.isoformat(),
                                "lifted_at": hold.lifted_at.isoformat() if hold.lifted_at else None,
                                "lifted_by": hold.lifted_by,
                            }
                        )
                    )
    except holds.HoldError as exc:
        print(f"hold: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from voice.disclosure import spillage

    engine = make_engine(get_settings().database_url)
    with transaction(engine) as session:
        if args.action == "list":
            for row in spillage.list_quarantine(session=session):
                print(
                    json.dumps(
                        {
                            "quarantine_id": row.quarantine_id,
                            "rule_id": row.rule_id,
                            "sha256": row.payload_sha256,
                            "received_at": row.received_at.isoformat(),
                        }
                    )
                )
            return 0
        if not args.id or not args.by:
            print("purge needs --id and --by", file=sys.stderr)
            return 2
        if not spillage.purge(session=session, quarantine_id=args.id, purged_by=args.by):
            print(f"no quarantined event {args.id}", file=sys.stderr)
            return 1
        print(json.dumps({"purged": args.id}))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from voice.disclosure import accounting

    engine = make_engine(get_settings().database_url)
    with transaction(engine) as session:
        if args.action == "verify":
            result = accounting.verify(session=session)
            print(
                json.dumps({"ok": result.ok, "checked": result.checked, "problem": result.problem})
            )
            return 0 if result.ok else 1
        subject_id = _subject_id(session, args.subject)
        if subject_id is None:
            print(f"no subject {args.subject}", file=sys.stderr)
            return 1
        for line in accounting.accounting_for_subject(session=session, subject_id=subject_id):
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
    policy = commands.add_parser("policy", help="check, print or explain the disclosure policy")
    policy_actions = policy.add_subparsers(dest="action", required=True)
    for name, text in (
        ("check", "validate, compile and run the policy's examples"),
        ("table", "print the compiled decision table, one JSON line per cell"),
        ("explain", "print what an audience would receive of an event, and why not"),
    ):
        action = policy_actions.add_parser(name, help=text)
        action.add_argument("--policy", help="a policy file other than the configured one")
        if name == "explain":
            action.add_argument("event", help="the event, as a JSON file")
            action.add_argument(
                "--audience",
                default=Audience.VICTIM_VERIFIED.value,
                choices=[a.value for a in Audience],
            )
        action.set_defaults(func=cmd_policy)

    hold = commands.add_parser("hold", help="safety holds on cases")
    hold.add_argument("action", choices=["set", "lift", "list"])
    hold.add_argument("--case-id", type=int)
    hold.add_argument("--hold-id", type=int)
    hold.add_argument("--reason")
    hold.add_argument("--by", help="who sets or lifts the hold")
    hold.add_argument("--days", type=float, default=30.0, help="for set: how long (default 30)")
    hold.add_argument("--until", help="for set: when it expires (ISO 8601)")
    hold.add_argument("--note")
    hold.add_argument("--all", action="store_true", help="for list: lifted and expired too")
    hold.set_defaults(func=cmd_hold)

    quarantine = commands.add_parser("quarantine", help="spilled events (security staff)")
    quarantine.add_argument("action", choices=["list", "purge"])
    quarantine.add_argument("--id", help="for purge: the quarantine id")
    quarantine.add_argument("--by", help="for purge: who purges")
    quarantine.set_defaults(func=cmd_quarantine)

    audit = commands.add_parser("audit", help="the accounting of disclosures")
    audit.add_argument("action", choices=["accounting", "verify"])
    audit.add_argument("--subject", help="for accounting: subject id or upstream subject id")
    audit.set_defaults(func=cmd_audit)
