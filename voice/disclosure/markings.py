"""Classification of banner and portion markings (CAPCO, CUI and legacy agency markings).

The disclosure filter withholds whatever is not positively ``uncontrolled`` and quarantines
whatever is ``classified`` (DESIGN.md, "Disclosure" and invariant 5). So the parser rests on one
rule: the only way to get ``UNCONTROLLED`` is for the whole marking to be one of a short list of
spellings of "unclassified". Everything else is parsed only to decide how controlled it is, and
any doubt ends in ``unknown`` or ``malformed``, never in ``uncontrolled``.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class MarkingClass(StrEnum):
    UNCONTROLLED = "uncontrolled"
    CUI = "cui"
    LEGACY_CONTROLLED = "legacy_controlled"
    CLASSIFIED = "classified"
    UNKNOWN = "unknown"
    MALFORMED = "malformed"


_C = MarkingClass

# Every marking that means "uncontrolled", after normalisation. Nothing else returns
# UNCONTROLLED, so a marking holding any other token cannot be released by mistake.
_UNCONTROLLED_FORMS = frozenset({"U", "(U)", "UNCLASSIFIED", "(UNCLASSIFIED)"})


def _tokens(names: str, cls: MarkingClass) -> dict[str, MarkingClass]:
    return dict.fromkeys(names.split("|"), cls)


# One "/"-separated item of a marking and what it implies on its own. Position does not matter:
# the most restrictive item wins, so "U//S" is classified however odd it looks.
_TOKENS: dict[str, MarkingClass] = {
    **_tokens("U|UNCLASSIFIED", _C.UNCONTROLLED),
    # Levels, SCI and SAP control systems, and dissemination controls used only with classified
    # information. RESTRICTED is deliberately absent: it is not a US level, so it is unknown.
    **_tokens(
        "C|CONFIDENTIAL|S|SECRET|TS|TOP SECRET|SCI|SI|TK|HCS|SAP|SAR|ORCON|ORCON-USGOV|IMCON"
        "|RELIDO|PROPIN|FISA|RSEN|RD|FRD|CNWDI|FGI",
        _C.CLASSIFIED,
    ),
    # CUI banners and the CUI limited dissemination controls (REL TO and DISPLAY ONLY take a
    # country list and are handled in _classify_item).
    **_tokens("CUI|CONTROLLED|NOFORN|NF|FED ONLY|FEDCON|NOCON|DL ONLY", _C.CUI),
    # Agency markings that CUI replaced; records older than the CUI programme still carry them.
    **_tokens(
        "FOUO|FOR OFFICIAL USE ONLY|SBU|SENSITIVE BUT UNCLASSIFIED|LES|LAW ENFORCEMENT SENSITIVE"
        "|LOU|LIMITED OFFICIAL USE|OUO|OFFICIAL USE ONLY|SSI|SENSITIVE SECURITY INFORMATION",
        _C.LEGACY_CONTROLLED,
    ),
}

_MARKING_CHARS = re.compile(r"[A-Z0-9 /,()\-]+")
_SPACE_AROUND_PUNCT = re.compile(r" ?([/,()]) ?")
_COUNTRY_LIST = re.compile(r"(?:REL TO|DISPLAY ONLY) (.+)")
_COUNTRY = re.compile(r"[A-Z]{3,4}")  # trigraphs (USA) and tetragraphs (FVEY)
_CUI_CATEGORY = re.compile(r"(?:SP-)?[A-Z][A-Z0-9]{1,9}")  # LEI, SP-INV, SP-PRVCY, ...
# Signs of a classification level, used where the structure is broken or a phrase is unknown
# ("(S//NF", "NATO SECRET"): classified outranks malformed because it triggers quarantine.
_CLASSIFIED_HINT = re.compile(
    r"^\(?(?:TS|S|C)(?:/|\)|$)|(?<![A-Z0-9])(?:SECRET|CONFIDENTIAL)(?![A-Z0-9])"
)
_CONTROLLED_WORDS = sorted(
    (name for name, cls in _TOKENS.items() if cls is not _C.UNCONTROLLED and len(name) > 1),
    key=len,
    reverse=True,
)
# Single letters (C, S) only count in mark position, "(S)" or "S//": as words they are prose.
_CONTROLLED_TOKEN = re.compile(
    r"(?<![A-Z0-9])(?:"
    + "|".join(r"\s+".join(map(re.escape, name.split())) for name in _CONTROLLED_WORDS)
    + r"|REL\s+TO|DISPLAY\s+ONLY)(?![A-Z0-9])"
    + r"|\(\s*(?:C|S)\s*[/)]|(?<![A-Z0-9])(?:C|S)\s*//"
)
_PORTION_MARK = re.compile(r"\s*(\(\s*[A-Z][A-Z0-9 \t,/\-]{0,80}\))", re.IGNORECASE)
# The order in which results win when several are combined; UNKNOWN beats CUI because an
# unknown token may stand for something stricter than CUI.
_PRECEDENCE = (_C.CLASSIFIED, _C.MALFORMED, _C.UNKNOWN, _C.CUI, _C.LEGACY_CONTROLLED)


def _normalise(text: str) -> str:
    # NFKC folds look-alikes (full-width letters, ligatures) onto ASCII, so full-width FOUO is FOUO.
    folded = " ".join(unicodedata.normalize("NFKC", text).upper().split())
    return _SPACE_AROUND_PUNCT.sub(r"\1", folded)


def _classify_item(item: str, cui_category: bool) -> MarkingClass:
    known = _TOKENS.get(item)
    if known is not None:
        return known
    listed = _COUNTRY_LIST.fullmatch(item)
    if listed:
        codes = listed.group(1).split(",")
        if "" in codes:
            return _C.MALFORMED
        return _C.CUI if all(_COUNTRY.fullmatch(code) for code in codes) else _C.UNKNOWN
    if "," in item:  # a comma only belongs in a country list
        return _C.MALFORMED
    if cui_category and _CUI_CATEGORY.fullmatch(item):
        # The CUI registry has over a hundred categories; after "CUI//" the shape is enough.
        return _C.CUI
    return _C.CLASSIFIED if _CLASSIFIED_HINT.search(item) else _C.UNKNOWN


def _item_classes(norm: str) -> list[MarkingClass] | None:
    """The class of each item of a normalised marking, or None if its structure makes no sense."""
    if not _MARKING_CHARS.fullmatch(norm):
        return None
    if "(" in norm or ")" in norm:
        # Parentheses may only wrap the whole marking, once: "(S//NF)".
        if not (norm.startswith("(") and norm.endswith(")")):
            return None
        norm = norm[1:-1]
        if "(" in norm or ")" in norm:
            return None
    # "//" separates categories, "/" items within one; an empty item ("U////", "U//") is broken.
    segments = [segment.split("/") for segment in norm.split("//")]
    if any("" in segment for segment in segments):
        return None
    after_cui = segments[0] in (["CUI"], ["CONTROLLED"])
    classes = [
        _classify_item(item, cui_category=after_cui and index == 1)
        for index, segment in enumerate(segments)
        for item in segment
    ]
    return None if _C.MALFORMED in classes else classes


def classify(marking: str) -> MarkingClass:
    """Classify one banner or portion marking, such as ``SECRET//NOFORN`` or ``(U//FOUO)``."""
    if not isinstance(marking, str):
        return _C.MALFORMED
    norm = _normalise(marking)
    if norm in _UNCONTROLLED_FORMS:
        return _C.UNCONTROLLED
    classes = _item_classes(norm)
    if classes is None:
        return _C.CLASSIFIED if _CLASSIFIED_HINT.search(norm) else _C.MALFORMED
    # MALFORMED never reaches here, and only-uncontrolled items that are not one of the plain
    # forms ("U//U") fall through to UNKNOWN: UNCONTROLLED was decided above and only there.
    return next((cls for cls in _PRECEDENCE if cls in classes), _C.UNKNOWN)


def leading_portion_mark(text: str) -> str | None:
    """The portion mark that opens a value or text, such as ``(U//LES)``, if there is one."""
    if not isinstance(text, str):
        return None
    match = _PORTION_MARK.match(text)
    return match.group(1) if match else None


def classify_text(text: str) -> MarkingClass:
    """The most restrictive portion mark opening the text or any of its lines.

    Portion marks open paragraphs, so "(U) ...\\n(S) ..." is classified even though it opens
    with (U). Text without any portion mark is UNCONTROLLED: this judges the marks, not the
    words; use ``contains_controlled_token`` to look for marking words in the body.
    """
    if not isinstance(text, str):
        return _C.MALFORMED
    found: list[MarkingClass] = []
    for line in unicodedata.normalize("NFKC", text).splitlines():
        mark = leading_portion_mark(line)
        if mark is not None:
            found.append(classify(mark))
            continue
        # A mark that lost its ")" ("(U//LES Subject was ...") must not pass as prose.
        first = line.split(maxsplit=1)[0] if line.strip() else ""
        if first.startswith("(") and (
            "/" in first or classify(first + ")") not in (_C.UNKNOWN, _C.MALFORMED)
        ):
            found.append(classify(first))
    if all(cls is _C.UNCONTROLLED for cls in found):
        return _C.UNCONTROLLED
    return next((cls for cls in _PRECEDENCE if cls in found), _C.UNKNOWN)


def contains_controlled_token(text: str) -> bool:
    """Whether a controlled marking word (FOUO, LES, CUI, SECRET, NOFORN, ...) occurs anywhere.

    Matches whole words only, case-insensitively, so it also finds "x_fouo-y" but not "FOUOX".
    It is a scan that fails closed: prose such as "Les" or "si" matches, and non-str is True.
    """
    if not isinstance(text, str):
        return True
    return _CONTROLLED_TOKEN.search(unicodedata.normalize("NFKC", text).upper()) is not None
