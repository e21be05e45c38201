"""``voice quarantine``: spilled events, for security staff."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from voice.config import get_settings
from voice.database import make_engine, transaction
from voice.ingest import quarantine


def cmd_quarantine(args: argparse.Namespace) -> int:
    engine = make_engine(get_settings().database_url)
    with transaction(engine) as session:
        if args.action == "list":
            for row in quarantine.list_quarantine(session=session):
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
        if not quarantine.purge(session=session, quarantine_id=args.id, purged_by=args.by):
            print(f"no quarantined event {args.id}", file=sys.stderr)
            return 1
        print(json.dumps({"purged": args.id}))
    return 0


def register(commands: Any) -> None:
    quarantine = commands.add_parser("quarantine", help="spilled events (security staff)")
    quarantine.add_argument(
        "action", choices=["list", "purge"], help="list quarantined events, or purge them"
    )
    quarantine.add_argument("--id", help="for purge: the quarantine id")
    quarantine.add_argument("--by", help="for purge: who purges")
    quarantine.set_defaults(func=cmd_quarantine)
