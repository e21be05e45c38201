"""The self-service lookup's answer as JSON bytes, built from pieces encoded once.

Each disclosed case is encoded when its view is computed and kept with it
(``service.LinkedCaseView.json``); an answer only joins the pieces. The shape is
``api.LinkedCasesPublic``'s, byte for byte: a test holds the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson


def case_json(
    *,
    case_id: int,
    relationship: str,
    verified: bool,
    disclosed: Mapping[str, Mapping[str, Any]],
    message: str | None,
) -> bytes:
    """One ``LinkedCasePublic``, its fields in the model's order."""
    return orjson.dumps(
        {
            "case_id": case_id,
            "relationship": relationship,
            "verified": verified,
            "subject": disclosed.get("subject", {}),
            "case": disclosed.get("case", {}),
            "message": message,
        }
    )


def cases_json(pieces: Sequence[bytes]) -> bytes:
    """A ``LinkedCasesPublic`` of already encoded cases."""
    return b'{"data":[%b],"count":%d}' % (b",".join(pieces), len(pieces))
