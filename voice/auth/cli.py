"""``voice staff``: ending staff portal sessions from a shell."""

from __future__ import annotations

import argparse
import json
from typing import Any


def cmd_staff(args: argparse.Namespace) -> int:
    from voice.auth import staff_sessions
    from voice.config import get_settings
    from voice.database import make_engine, transaction

    with transaction(make_engine(get_settings().database_url)) as session:
        ended = staff_sessions.end_sessions_for(session=session, subject=args.subject)
    print(json.dumps({"subject": args.subject, "sessions_ended": ended}))
    return 0


def register(commands: Any) -> None:
    staff = commands.add_parser("staff", help="staff portal sessions")
    staff_actions = staff.add_subparsers(dest="action", required=True, help="what to do")
    end = staff_actions.add_parser(
        "end-sessions",
        help="sign a staff member out everywhere now",
        description=(
            "End every portal session of one staff member at once, e.g. when their roles "
            "changed at the identity provider or they left. They must sign in again."
        ),
    )
    end.add_argument("subject", help="the staff member's subject (the identity provider's sub)")
    end.set_defaults(func=cmd_staff)
