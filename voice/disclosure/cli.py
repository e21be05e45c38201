"""``voice policy``: check, print or explain the disclosure policy."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from voice.config import get_settings
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
    from voice.disclosure.release import explain

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
    view = explain(event, audience=Audience(args.audience), policy=policy)
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


def register(commands: Any) -> None:
    policy = commands.add_parser("policy", help="check, print or explain the disclosure policy")
    policy_actions = policy.add_subparsers(dest="action", required=True, help="what to do")
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
                help="who would receive it (default: %(default)s)",
            )
        action.set_defaults(func=cmd_policy)
