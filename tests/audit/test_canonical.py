"""The accounting's canonical serialisation is byte for byte json's, which every stored hash
was made of: a record hashed today verifies against one hashed before, and the other way."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from voice.audit.chain import canonical

_TEXT = st.text(st.characters(codec="utf-8"), max_size=24)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), _TEXT)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=12,
)


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@given(st.dictionaries(_TEXT, _VALUES, max_size=16))
def test_canonical_is_jsons(body: dict[str, Any]) -> None:
    assert canonical(body) == _json(body)


def test_what_orjson_cannot_write_goes_to_json() -> None:
    body = {"chain_seq": 2**70, "fields_withheld": [{"field": "case.custody_status"}]}
    assert canonical(body) == _json(body)
