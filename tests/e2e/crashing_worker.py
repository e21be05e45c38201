"""A ``voice worker`` that stops dead inside a delivery, for the crash test.

It claims like the real worker, then, with ``before-send``, hangs before the adapter is called;
with ``after-send``, hangs after the adapter has written the message but before the row is
finished; with ``mid-batch``, sends the first ``CRASH_AFTER_SENDS`` of its batch for real and
hangs on the next; with ``fan-out``, does the same but hangs only after the next message has
been accepted too, so that one message is in flight when it dies. Either way it writes a marker
file and waits to be killed with SIGKILL.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from voice.config import get_settings
from voice.database import make_engine
from voice.disclosure.policy import cached_policy, default_policy_path
from voice.notify import outbox, tasks
from voice.notify.adapters.base import OutgoingEmail, OutgoingSms
from voice.worker import make_context


def main(mode: str, marker: Path) -> None:
    settings = get_settings()
    ctx = make_context(
        engine=make_engine(settings.database_url),
        settings=settings,
        policy=cached_policy(default_policy_path()),
    )
    real_attempt = outbox.attempt
    sent: list[str] = []

    def hanging_attempt(
        ctx: tasks.WorkerContext, message: OutgoingEmail | OutgoingSms
    ) -> outbox.SendResult:
        if mode in ("mid-batch", "fan-out") and len(sent) < int(os.environ["CRASH_AFTER_SENDS"]):
            sent.append(message.reference)
            return real_attempt(ctx, message)
        if mode in ("after-send", "fan-out"):
            real_attempt(ctx, message)
        marker.write_text(message.reference)
        time.sleep(3600)
        raise SystemExit("not killed")

    outbox.attempt = hanging_attempt
    tasks.run_once(ctx)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
