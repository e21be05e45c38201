"""``voice hold``: set, lift and list safety holds on cases."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from voice.config import get_settings
from voice.database import make_engine, transaction
from voice.holds import service as hold_service


def _parse_when(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cmd_hold(args: argparse.Namespace) -> int:
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
                hold = hold_service.set_hold(
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
                hold = hold_service.lift_hold(
                    session=session, hold_id=args.hold_id, lifted_by=args.by, note=args.note or ""
                )
                print(json.dumps({"hold_id": hold.id, "lifted_at": str(hold.lifted_at)}))
            else:
                for hold in hold_service.list_holds(session=session, include_inactive=args.all):
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
    except hold_service.HoldError as exc:
        print(f"hold: {exc}", file=sys.stderr)
        return 1
    return 0


def register(commands: Any) -> None:
    hold = commands.add_parser("hold", help="safety holds on cases")
    hold.add_argument(
        "action",
        choices=["set", "lift", "list"],
        help="set a hold on a case, lift one, or list them",
    )
    hold.add_argument("--case-id", type=int, help="for set and list: the case")
    hold.add_argument("--hold-id", type=int, help="for lift: the hold")
    hold.add_argument("--reason", help="for set: why (staff only; never shown to victims)")
    hold.add_argument("--by", help="who sets or lifts the hold")
    hold.add_argument(
        "--days", type=float, default=30.0, help="for set: how many days (default: %(default)s)"
    )
    hold.add_argument("--until", help="for set: when it expires (ISO 8601)")
    hold.add_argument("--note", help="for lift: the supervisor's note")
    hold.add_argument("--all", action="store_true", help="for list: lifted and expired too")
    hold.set_defaults(func=cmd_hold)
