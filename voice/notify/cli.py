"""``voice holds`` (the mass-event guard's holds) and ``voice tasks`` (open liaison tasks)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from voice.config import get_settings
from voice.database import make_engine, transaction


def cmd_holds(args: argparse.Namespace) -> int:
    from voice.notify import guard

    engine = make_engine(get_settings().database_url)
    with transaction(engine) as session:
        if args.action == "list":
            for hold in guard.list_holds(session=session, include_closed=args.all):
                print(json.dumps(_hold(hold)))
            return 0
        if args.hold_id is None or not args.by:
            raise SystemExit(f"voice holds {args.action} needs a hold id and --by NAME")
        act = guard.release if args.action == "release" else guard.cancel
        try:
            count = act(session=session, hold_id=args.hold_id, by=args.by)
        except guard.HoldNotOpen as exc:
            raise SystemExit(str(exc)) from None
    print(json.dumps({"hold": args.hold_id, "action": args.action, "notifications": count}))
    return 0


def _hold(hold: Any) -> dict[str, Any]:
    return {
        "id": hold.id,
        "status": hold.status,
        "reason": hold.reason,
        "opened_at": hold.opened_at.isoformat(),
        "notifications": hold.notifications,
        "events": hold.events,
        "cases": hold.cases,
        "by_event_type": hold.by_event_type,
    }


def cmd_tasks(args: argparse.Namespace) -> int:
    from voice.liaison import service as liaison_service
    from voice.liaison.models import LiaisonTaskPublic

    engine = make_engine(get_settings().database_url)
    with transaction(engine) as session:
        for task in liaison_service.open_tasks(session=session, kind=args.kind):
            print(LiaisonTaskPublic.model_validate(task).model_dump_json())
    return 0


def add_commands(commands: Any) -> None:
    holds = commands.add_parser(
        "holds", help="critical notices held by the mass-event guard: list, release, cancel"
    )
    holds.add_argument("action", choices=["list", "release", "cancel"])
    holds.add_argument("hold_id", nargs="?", type=int)
    holds.add_argument("--by", help="the supervisor deciding (recorded with the hold)")
    holds.add_argument("--all", action="store_true", help="list closed holds too")
    holds.set_defaults(func=cmd_holds)

    tasks = commands.add_parser("tasks", help="open liaison tasks (one JSON line each)")
    tasks.add_argument("--kind", help="only tasks of this kind")
    tasks.set_defaults(func=cmd_tasks)
