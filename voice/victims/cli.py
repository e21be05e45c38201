"""``voice victims``: a victim's PIN sign-in back-off, seen and lifted from a shell."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from voice.auth import credentials

_VICTIM_ID = re.compile(r"V-[0-9A-Z]{4}-[0-9A-Z]{4}")


def _victim_ref(text: str) -> str:
    """A Victim ID as the victim reads it out (V-XXXX-XXXX), or the API's numeric victim id."""
    if text.isdigit() and 1 <= int(text) <= 2_147_483_647:
        return text
    code = credentials.normalise_victim_code(text)
    if not _VICTIM_ID.fullmatch(code):
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a Victim ID (V-XXXX-XXXX) nor a numeric victim id"
        )
    return code


def cmd_victims(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from voice.config import get_settings
    from voice.database import make_engine, transaction
    from voice.pii import keyring
    from voice.victims import sign_in_locks
    from voice.victims.models import Victim

    settings = get_settings()
    keyring.configure(settings)
    with transaction(make_engine(settings.database_url)) as session:
        victim = (
            session.get(Victim, int(args.victim))
            if args.victim.isdigit()
            else session.exec(select(Victim).where(Victim.victim_code == args.victim)).first()
        )
        if victim is None:
            print(f"no victim {args.victim}", file=sys.stderr)
            return 1
        if args.action == "unlock":
            lock = sign_in_locks.lift_sign_in_lock(session=session, victim=victim, by=args.by)
        else:
            lock = sign_in_locks.sign_in_lock(session=session, victim=victim)
    print(
        json.dumps(
            {
                "victim": victim.id,
                "locked": lock.locked,
                "locked_until": lock.locked_until.isoformat() if lock.locked_until else None,
                "failures": lock.failures,
                "lifted": args.action == "unlock",
            }
        )
    )
    return 0


def register(commands: Any) -> None:
    victims = commands.add_parser(
        "victims",
        help="a victim's PIN sign-in back-off: show it, or lift it",
        description=(
            "After failed PINs a Victim ID backs off: each further failure doubles the wait "
            "before the next PIN is checked (VOICE_SIGN_IN_BACKOFF_SECONDS, up to "
            "VOICE_SIGN_IN_BACKOFF_MAX_SECONDS). Check who is calling before lifting it."
        ),
    )
    victim_actions = victims.add_subparsers(dest="action", required=True, help="what to do")
    for name, text in (
        ("sign-in-lock", "show whether the victim's PIN sign-in is backing off"),
        ("unlock", "lift the back-off: the victim's next PIN is checked at once"),
    ):
        action = victim_actions.add_parser(name, help=text, description=text)
        action.add_argument(
            "victim",
            metavar="VICTIM_ID",
            type=_victim_ref,
            help="the Victim ID as the victim reads it (V-XXXX-XXXX), or the API's numeric id",
        )
        if name == "unlock":
            action.add_argument(
                "--by", required=True, help="who lifts it (your staff id), for the log"
            )
        action.set_defaults(func=cmd_victims)
