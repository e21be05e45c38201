"""``voice audit verify`` and ``voice audit checkpoint``: the chains and their anchors."""

from __future__ import annotations

import json

from sqlmodel import Session

from voice.audit import chain as accounting
from voice.audit import checkpoints, reference_chain
from voice.config import Settings


def run(*, session: Session, settings: Settings, action: str) -> int:
    if action == "checkpoint":
        written = checkpoints.write_checkpoint(session=session, settings=settings)
        print(json.dumps({"written": str(written) if written else None}))
        return 0
    records = accounting.verify(session=session)
    refs_ok, refs_checked, refs_problem = reference_chain.verify_references(session=session)
    anchored = checkpoints.verify_checkpoints(session=session, settings=settings)
    ok = records.ok and refs_ok and anchored.ok
    print(
        json.dumps(
            {
                "ok": ok,
                "checked": records.checked,
                "problem": records.problem or refs_problem or anchored.problem,
                "references_checked": refs_checked,
                "checkpoints_checked": anchored.checked,
            }
        )
    )
    return 0 if ok else 1
