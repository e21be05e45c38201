"""The short cuts in ``voice.disclosure.portions`` find exactly what the full reading finds.

``text_marks`` skips the full reading for ASCII text without "(" or "//", and
``holds_classified_mark`` stops at the first classified mark; the references below are the
full reading as it was before either.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from voice.disclosure import portions
from voice.disclosure.compiler import MARKING_INDEX, MARKING_ORDER
from voice.disclosure.markings import MarkingClass


def reference_text_marks(text: str) -> Iterator[str]:
    for line in unicodedata.normalize("NFKC", text).splitlines():
        yield from portions._line_marks(line)


def reference_holds_classified(value: Any) -> bool:
    found = max(
        (
            portions.marking_index(mark)
            for text in portions._strings(value)
            for mark in reference_text_marks(text)
        ),
        default=portions.NO_MARK,
    )
    return found == MARKING_INDEX[MarkingClass.CLASSIFIED]


PIECES = [
    "(",
    ")",
    "//",
    "/",
    "(U)",
    "(S)",
    "(TS//NF)",
    "(U//FOUO)",
    "SECRET",
    "secret",
    "TOP SECRET",
    "Top  Secret",
    "CONFIDENTIAL",
    "SECRET//NOFORN",
    "CUI",
    "\n",
    "\r\n",
    "\x1c",
    "\x85",
    "\u2028",
    " ",
    "\t",
    "\uff08S\uff09",  # fullwidth parentheses: NFKC turns them into "(S)"
    "\uff0f\uff0f",
    "suspect(s)",
    "Booked after transfer.",
    "é",
]
texts = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(PIECES), max_size=8).map("".join),
)


def test_classified_is_the_most_restrictive_mark() -> None:
    # ``holds_classified_mark`` may stop at the first classified mark only because of this.
    assert MARKING_ORDER[-1] is MarkingClass.CLASSIFIED


@settings(max_examples=800, deadline=None)
@given(texts)
def test_text_marks_match_the_full_reading(text: str) -> None:
    assert list(portions.text_marks(text)) == list(reference_text_marks(text))


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        texts,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
        max_leaves=12,
    )
)
def test_holds_classified_mark_matches_the_full_reading(value: Any) -> None:
    assert portions.holds_classified_mark(value) == reference_holds_classified(value)
