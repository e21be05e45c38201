"""``voice guard``: critical notices the mass-event guard paused, for a supervisor to decide."""

from __future__ import annotations

import argparse
import json
from typing import Any

from voice.config import get_settings
from voice.database import make_engine, transaction
from voice.notify import guard


def cmd_guard(args: argparse.Namespace) -> int:
    engine = make_engine(get_settings().database_url)
    with transaction(engine) as session:
        if args.action == "list":
            for pause in guard.list_pauses(session=session, include_closed=args.all):
                print(json.dumps(_pause(pause)))
            return 0
        if args.pause_id is None or not args.by:
            raise SystemExit(f"voice guard {args.action} needs a pause id and --by NAME")
        act = guard.release if args.action == "release" else guard.cancel
        try:
            count = act(session=session, pause_id=args.pause_id, by=args.by)
        except guard.PauseNotOpen as exc:
            raise SystemExit(str(exc)) from None
    print(json.dumps({"pause": args.pause_id, "action": args.action, "notifications": count}))
    return 0


def _pause(pause: guard.PauseSummary) -> dict[str, Any]:
    return {
        "id": pause.id,
        "status": pause.status,
        "reason": pause.reason,
        "opened_at": pause.opened_at.isoformat(),
        "notifications": pause.notifications,
        "events": pause.events,
        "cases": pause.cases,
        "by_event_type": pause.by_event_type,
    }


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "guard", help="critical notices paused by the mass-event guard: list, release, cancel"
    )
    parser.add_argument(
        "action",
        choices=["list", "release", "cancel"],
        help="list paused bursts, or release or cancel one",
    )
    parser.add_argument("pause_id", nargs="?", type=int, help="for release and cancel: the pause")
    parser.add_argument("--by", help="the supervisor deciding (recorded with the pause)")
    parser.add_argument("--all", action="store_true", help="list closed pauses too")
    parser.set_defaults(func=cmd_guard)
