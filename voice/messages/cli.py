"""``voice message``: staff write to a victim; the outbound scan holds findings for a supervisor."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from voice.config import get_settings
from voice.database import make_engine, transaction
from voice.messages import gate as messages
from voice.messages.models import StaffMessage


def _summary(message: StaffMessage) -> dict[str, Any]:
    # Never the body: it may hold exactly what the scan found.
    return {
        "id": message.id,
        "link_id": message.link_id,
        "channel": message.channel,
        "status": message.status,
        "author": message.author,
        "findings": [f["kind"] for f in message.findings],
        "reviewed_by": message.reviewed_by,
    }


def cmd_message(args: argparse.Namespace) -> int:
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(engine) as session:
            if args.action == "submit":
                if (
                    args.link_id is None
                    or not args.by
                    or (args.body is None) == (args.file is None)
                ):
                    raise SystemExit(
                        "voice message submit needs --link-id, --by, and --body or --file"
                    )
                body = args.body if args.body is not None else Path(args.file).read_text("utf-8")
                message = messages.submit(
                    session=session,
                    link_id=args.link_id,
                    body=body,
                    author=args.by,
                    channel=args.channel,
                )
                print(json.dumps(_summary(message)))
            elif args.action in ("approve", "reject"):
                if args.id is None or not args.by:
                    raise SystemExit(f"voice message {args.action} needs --id and --by")
                review = messages.approve if args.action == "approve" else messages.reject
                message = review(
                    session=session, message_id=args.id, supervisor=args.by, note=args.note or ""
                )
                print(json.dumps(_summary(message)))
            else:
                query = select(StaffMessage).order_by(col(StaffMessage.id))
                if args.status:
                    query = query.where(StaffMessage.status == args.status)
                for message in session.exec(query):
                    print(json.dumps(_summary(message)))
    except messages.ReviewError as exc:
        raise SystemExit(f"voice message {args.action}: {exc}") from exc
    return 0


def register(commands: Any) -> None:
    message = commands.add_parser(
        "message", help="staff messages to victims: submit, approve or reject a held one, list"
    )
    message.add_argument(
        "action",
        choices=["submit", "approve", "reject", "list"],
        help="submit a staff message to a victim, approve or reject one held for review, or list",
    )
    message.add_argument("--link-id", type=int, help="for submit: the victim's link to the case")
    message.add_argument(
        "--channel",
        choices=["email", "sms"],
        default="email",
        help="for submit (default: %(default)s)",
    )
    message.add_argument("--body", help="for submit: the text")
    message.add_argument("--file", help="for submit: a file holding the text")
    message.add_argument("--id", type=int, help="for approve and reject: the message")
    message.add_argument("--by", help="the author (submit) or the supervisor (approve, reject)")
    message.add_argument("--note", help="for approve and reject: the supervisor's note")
    message.add_argument("--status", help="for list: only messages in this status")
    message.set_defaults(func=cmd_message)
