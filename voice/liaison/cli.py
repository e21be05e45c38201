"""``voice tasks``: list liaison tasks; claim one; close one with an outcome note."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from voice.config import get_settings
from voice.database import make_engine, transaction
from voice.liaison import service as liaison_service
from voice.liaison.models import LiaisonTaskPublic, TaskKind, TaskStatus

KINDS = [kind.value for kind in TaskKind]
STATUSES = [status.value for status in TaskStatus]


def _task_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a task id: {text!r}") from None
    if not 1 <= value <= 2_147_483_647:
        raise argparse.ArgumentTypeError(f"not a task id: {text!r}")
    return value


def _text(limit: int) -> Any:
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError("must not be empty")
        if len(text) > limit:
            raise argparse.ArgumentTypeError(f"at most {limit} characters")
        return text

    return parse


def cmd_tasks(args: argparse.Namespace) -> int:
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(engine) as session:
            if args.action == "claim":
                task = liaison_service.claim_task(session=session, task_id=args.id, by=args.by)
                print(LiaisonTaskPublic.model_validate(task).model_dump_json())
            elif args.action == "close":
                task = liaison_service.close_task(
                    session=session, task_id=args.id, by=args.by, note=args.note
                )
                print(LiaisonTaskPublic.model_validate(task).model_dump_json())
            else:
                status = None if args.status == "all" else args.status
                for task in liaison_service.list_tasks(
                    session=session, kind=args.kind, status=status, assignee=args.assignee
                ):
                    print(LiaisonTaskPublic.model_validate(task).model_dump_json())
    except (liaison_service.TaskNotFound, liaison_service.TaskClosed) as exc:
        print(f"voice tasks {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


def register(commands: Any) -> None:
    tasks = commands.add_parser(
        "tasks",
        help="liaison tasks: list them (one JSON line each), claim one, close one",
        description=(
            "Without an action, list liaison tasks as JSON lines, oldest first. "
            "'claim ID --by NAME' assigns an open task; 'close ID --by NAME --note TEXT' closes "
            "it with what was found or done. A task that does not exist or is closed already "
            "exits 1; a usage error exits 2."
        ),
    )
    tasks.add_argument(
        "--kind",
        choices=KINDS,
        metavar="KIND",
        help=f"only tasks of this kind; one of: {', '.join(KINDS)} (default: every kind)",
    )
    tasks.add_argument(
        "--status",
        choices=[*STATUSES, "all"],
        default=TaskStatus.OPEN.value,
        help="only tasks with this status: open, done or all (default: open)",
    )
    tasks.add_argument("--assignee", help="only tasks claimed by this person (default: anyone)")
    tasks.set_defaults(func=cmd_tasks, action="list")
    actions = tasks.add_subparsers(
        dest="action", metavar="{claim,close}", help="claim or close one task (default: list)"
    )

    claim = actions.add_parser("claim", help="assign an open task to a person")
    claim.add_argument("id", type=_task_id, help="the task's id")
    claim.add_argument("--by", required=True, type=_text(200), help="who takes the task on")

    close = actions.add_parser("close", help="close an open task with an outcome note")
    close.add_argument("id", type=_task_id, help="the task's id")
    close.add_argument("--by", required=True, type=_text(200), help="who closes the task")
    close.add_argument(
        "--note", required=True, type=_text(4000), help="what was found or done (required)"
    )
