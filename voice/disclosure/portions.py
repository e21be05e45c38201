"""Markings found on a field and inside its value, as indexes into MARKING_ORDER.

Portion marks open a paragraph, so every line of a value is looked at: "(U) ...\\n(S) ..." is
classified. A mark that is clearly a marking even in mid-sentence (it holds "//", as in
"(S//NF)") counts wherever it stands, and so does a banner line ("SECRET//NOFORN" or a bare
"TOP SECRET"). Ordinary parentheses in prose, "suspect(s)" or "(see file)", are no marks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from voice.disclosure.compiler import MARKING_INDEX
from voice.disclosure.markings import MarkingClass, classify, leading_portion_mark

NO_MARK = -1
_CLASSIFIED = MARKING_INDEX[MarkingClass.CLASSIFIED]
_INLINE_MARK = re.compile(r"(?<![A-Za-z0-9])\(\s*([A-Za-z][A-Za-z0-9 ,\-]*//[A-Za-z0-9 /,\-]*)\)")
_BANNER_LINE = re.compile(r"\s*([A-Za-z][A-Za-z \-]{0,40}//[A-Za-z0-9 /,\-]{0,120})")
_BARE_BANNERS = frozenset({"SECRET", "TOP SECRET", "CONFIDENTIAL"})


@lru_cache(maxsize=8192)
def marking_index(marking: str) -> int:
    return MARKING_INDEX[classify(marking)]


@lru_cache(maxsize=8192)
def marking_index_of_markings(markings: tuple[str, ...]) -> int:
    """The most restrictive of a field's markings; NO_MARK if it has none."""
    return max((marking_index(m) for m in markings), default=NO_MARK)


def _line_marks(line: str) -> Iterator[str]:
    mark = leading_portion_mark(line)
    if mark is not None:
        yield mark
    else:
        first = line.split(maxsplit=1)[0] if line.strip() else ""
        # A mark that lost its ")" ("(U//LES Subject was ...") must not pass as prose.
        if first.startswith("(") and (
            "/" in first
            or classify(first + ")") not in (MarkingClass.UNKNOWN, MarkingClass.MALFORMED)
        ):
            yield first
        banner = _BANNER_LINE.match(line)
        if banner is not None:
            yield banner.group(1)
        elif " ".join(line.split()).upper() in _BARE_BANNERS:
            yield line
    for inline in _INLINE_MARK.finditer(line):
        yield "(" + inline.group(1) + ")"


def text_marks(text: str) -> Iterator[str]:
    """Every portion mark, inline mark and banner found in a text."""
    if text.isascii() and "(" not in text and "//" not in text:
        # Most of an event's strings. ASCII is its own NFKC form, and every mark but a bare
        # banner needs a "(" or a "//": what ``_line_marks`` would find, without its work.
        for line in text.splitlines():
            if " ".join(line.split()).upper() in _BARE_BANNERS:
                yield line
        return
    for line in unicodedata.normalize("NFKC", text).splitlines():
        yield from _line_marks(line)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def marking_index_of_value(value: Any) -> int:
    """The most restrictive mark inside a value (or any string inside it); NO_MARK if none."""
    return max(
        (marking_index(mark) for text in _strings(value) for mark in text_marks(text)),
        default=NO_MARK,
    )


def holds_classified_mark(value: Any) -> bool:
    # Classified is the most restrictive mark: the first one settles it.
    return any(
        marking_index(mark) == _CLASSIFIED for text in _strings(value) for mark in text_marks(text)
    )
