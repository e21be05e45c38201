"""Text-message encoding: GSM-7 where possible, segment counting, and a hard cap.

A GSM-7 message fits 160 characters in one segment, or 153 per segment once split; anything
outside GSM-7 sends the whole message as UCS-2, at 70 (or 67) UTF-16 units per segment. Spanish
accents outside GSM-7 (á, í, ó, ú) are written without their accent, as Spanish texts commonly
are, so a notice stays in the cheaper, more widely supported alphabet. Characters that cannot be
written in GSM-7 at all (a name in another script) are kept as they are, and the message goes
out as UCS-2: a victim must recognise the name.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

# 3GPP TS 23.038: the basic character set and, at a cost of two septets each, its extension.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

SINGLE_GSM7, MULTI_GSM7 = 160, 153
SINGLE_UCS2, MULTI_UCS2 = 70, 67
# No notice may cost more than this many segments; longer ones are rendered in a shorter form.
MAX_SEGMENTS = 4

_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
    }
)


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def to_gsm7_where_possible(text: str) -> str:
    """Replace typographic punctuation and drop accents GSM-7 lacks; if anything else remains
    outside GSM-7, return the text with only the punctuation replaced."""
    text = text.translate(_PUNCTUATION)
    out = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFD", ch)[0]
        out.append(base if base in GSM7_BASIC else ch)
    converted = "".join(out)
    return converted if is_gsm7(converted) else text


def measure(text: str) -> SmsSize:
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, multi, encoding = SINGLE_GSM7, MULTI_GSM7, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = SINGLE_UCS2, MULTI_UCS2, "UCS-2"
    segments = 1 if units <= single else math.ceil(units / multi)
    return SmsSize(encoding=encoding, units=units, segments=segments)


def fits(text: str, max_segments: int = MAX_SEGMENTS) -> bool:
    return measure(text).segments <= max_segments
