"""``voice tasks``: open liaison tasks, one JSON line each."""

from __future__ import annotations

import argparse
from typing import Any

from voice.config import get_settings
from voice.database import make_engine, transaction
from voice.liaison import service as liaison_service
from voice.liaison.models import LiaisonTaskPublic, TaskKind


def cmd_tasks(args: argparse.Namespace) -> int:
    engine = make_engine(get_settings().database_url)
    with transaction(engine) as session:
        for task in liaison_service.open_tasks(session=session, kind=args.kind):
            print(LiaisonTaskPublic.model_validate(task).model_dump_json())
    return 0


def register(commands: Any) -> None:
    tasks = commands.add_parser("tasks", help="open liaison tasks (one JSON line each)")
    tasks.add_argument(
        "--kind",
        choices=[k.value for k in TaskKind],
        help="only tasks of this kind (default: every kind)",
    )
    tasks.set_defaults(func=cmd_tasks)
