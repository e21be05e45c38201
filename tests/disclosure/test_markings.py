"""Tests for the marking parser: examples per class, and the properties the filter relies on."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice.disclosure.markings import (
    MarkingClass,
    classify,
    classify_text,
    contains_controlled_token,
    leading_portion_mark,
)

M = MarkingClass

CASES: list[tuple[str, MarkingClass]] = [
    # Classified: levels alone, in portion marks, with SCI and dissemination controls.
    *[
        (marking, M.CLASSIFIED)
        for marking in [
            "(C)",
            "(S)",
            "(TS)",
            "CONFIDENTIAL",
            "SECRET",
            "TOP SECRET",
            "SECRET//NOFORN",
            "TOP SECRET//SI//NOFORN",
            "(S//NF)",
            "(TS//SCI)",
            "C",
            "S//REL TO USA, CAN",
            "secret",
            "Top Secret",
            "top   secret // si // noforn",
            "( s // nf )",
            "(ts//sci)",
            "  confidential  ",
            "U//S",  # the most restrictive part wins, however odd the combination
            "CUI//SECRET",
            "NATO SECRET",  # an unknown phrase that still names a level
            "(S//NF",  # broken, but classified outranks malformed: quarantine, not just withhold
            "SECRET//NOFORN/",
        ]
    ],
    # Uncontrolled: only the plain forms, whatever the case and whitespace.
    *[
        (marking, M.UNCONTROLLED)
        for marking in [
            "U",
            "(U)",
            "UNCLASSIFIED",
            "u",
            "(u)",
            "unclassified",
            "Unclassified",
            "  U  ",
            "( U )",
            "\tunclassified\n",
            "(UNCLASSIFIED)",
        ]
    ],
    # CUI, with categories and limited dissemination controls.
    *[
        (marking, M.CUI)
        for marking in [
            "CUI",
            "CONTROLLED",
            "CUI//SP-INV/LEI//NOFORN",
            "(CUI//SP-LEI)",
            "(CUI)",
            "CUI//SP-PRVCY",
            "CUI//NOFORN",
            "CUI//NF",
            "CUI//FED ONLY",
            "CUI//FEDCON",
            "CUI//NOCON",
            "CUI//DL ONLY",
            "CUI//REL TO USA, CAN",
            "CUI//DISPLAY ONLY AFG, IRQ",
            "NOFORN",
            "REL TO USA, CAN",
            "DISPLAY ONLY IRQ",
            "cui",
            "controlled",
            "cui // sp-inv / lei // noforn",
            "( cui//sp-lei )",
            "cui//fed  only",
            "rel to usa,can",
            "U//CUI",
            "CUI//FOUO",  # CUI outranks the legacy marking it replaced
        ]
    ],
    # Legacy agency markings, alone and after U / UNCLASSIFIED.
    *[
        (marking, M.LEGACY_CONTROLLED)
        for marking in [
            "FOUO",
            "FOR OFFICIAL USE ONLY",
            "SBU",
            "SENSITIVE BUT UNCLASSIFIED",
            "LES",
            "LAW ENFORCEMENT SENSITIVE",
            "LOU",
            "LIMITED OFFICIAL USE",
            "OUO",
            "OFFICIAL USE ONLY",
            "SSI",
            "SENSITIVE SECURITY INFORMATION",
            "(U//FOUO)",
            "UNCLASSIFIED//LES",
            "U//LES",
            "UNCLASSIFIED//FOR OFFICIAL USE ONLY",
            "fouo",
            "(u//fouo)",
            "u // les",
            "unclassified//for  official   use only",
            "  Sensitive But Unclassified ",
            "(U//FOUO/LES)",
            "\uff26\uff2f\uff35\uff2f",  # full-width FOUO
        ]
    ],
    # Well-formed, but with tokens the parser does not know.
    *[
        (marking, M.UNKNOWN)
        for marking in [
            "RESTRICTED",  # not a US level
            "PROPRIETARY",
            "U//XYZ",
            "UNCLASSIFIED//XYZ",
            "CUI//SP-INV//XYZ",
            "CUI//FOO BAR",
            "REL TO US",
            "U//U",  # only uncontrolled tokens, but not a plain form
            "FOUOLES",
            "NATO UNCLASSIFIED",
            "CUI//LEI//ZZZ",
        ]
    ],
    # Structure the parser cannot make sense of.
    *[
        (marking, M.MALFORMED)
        for marking in [
            "",
            "   ",
            "\n\t",
            "(U//FOUO",
            "U//FOUO)",
            "U////",
            "U//",
            "//FOUO",
            "U///FOUO",
            "U//FOUO!",
            "FOUO#",
            "(U)(U)",
            "(U)//FOUO",
            "((U))",
            "()",
            "U,FOUO",
            "REL TO USA,,CAN",
            "REL TO USA,",
            "U//LES;",
        ]
    ],
]


@pytest.mark.parametrize(("marking", "expected"), CASES)
def test_classify(marking: str, expected: MarkingClass) -> None:
    assert classify(marking) is expected


@pytest.mark.parametrize("value", [None, 0, b"U", ["U"], object()])
def test_non_str_is_malformed(value: object) -> None:
    assert classify(value) is M.MALFORMED  # type: ignore[arg-type]
    assert classify_text(value) is M.MALFORMED  # type: ignore[arg-type]
    assert leading_portion_mark(value) is None  # type: ignore[arg-type]
    assert contains_controlled_token(value) is True  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("(U//LES) Subject was released.", "(U//LES)"),
        ("  (u//fouo) Subject", "(u//fouo)"),
        ("(S)Subject", "(S)"),
        ("( U ) Subject", "( U )"),
        ("(CUI//REL TO USA, CAN) x", "(CUI//REL TO USA, CAN)"),
        ("Subject (U//LES) was", None),
        ("(U//LES Subject was", None),
        ("", None),
    ],
)
def test_leading_portion_mark(text: str, mark: str | None) -> None:
    assert leading_portion_mark(text) == mark


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(U//LES) Subject was released.", M.LEGACY_CONTROLLED),
        ("(U) Subject was released.", M.UNCONTROLLED),
        ("(u) subject", M.UNCONTROLLED),
        ("Subject was released.", M.UNCONTROLLED),  # no portion mark at all
        ("", M.UNCONTROLLED),
        ("(S//NF) Subject", M.CLASSIFIED),
        ("(CUI//SP-LEI) Subject", M.CUI),
        ("(U) First paragraph.\n(S) Second paragraph.", M.CLASSIFIED),
        ("(U) One.\n  (U) Two.", M.UNCONTROLLED),
        ("(U//LES Subject was released.", M.MALFORMED),  # a mark that lost its ")"
        ("(FOUO Subject", M.MALFORMED),
        ("(S//NF Subject", M.CLASSIFIED),
        ("(XYZ) Subject", M.UNKNOWN),
        ("\uff08U//LES\uff09 Subject", M.LEGACY_CONTROLLED),  # full-width parentheses
    ],
)
def test_classify_text(text: str, expected: MarkingClass) -> None:
    assert classify_text(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x_fouo-y", True),
        ("note: SECRET//NOFORN", True),
        ("for  official\nuse only", True),
        ("(s//nf)", True),
        ("see S// above", True),
        ("FOUOX", False),
        ("UNCLASSIFIED", False),
        ("(U) nothing here", False),
        ("Mr. S said C was fine", False),  # single letters are prose outside mark position
    ],
)
def test_contains_controlled_token(text: str, expected: bool) -> None:
    assert contains_controlled_token(text) is expected


# Controlled tokens for the safety property. Tokens that are substrings of "UNCLASSIFIED" (C, S,
# SI) are left out: with "UNCLAS" before and "FIED" after they rebuild a genuinely uncontrolled
# marking, so the property cannot hold for them.
CONTROLLED = [
    "FOUO",
    "FOR OFFICIAL USE ONLY",
    "LES",
    "SBU",
    "LOU",
    "OUO",
    "SSI",
    "CUI",
    "CONTROLLED",
    "NOFORN",
    "NF",
    "FEDCON",
    "NOCON",
    "SECRET",
    "TOP SECRET",
    "CONFIDENTIAL",
    "TS",
    "SCI",
    "ORCON",
    "REL TO",
]
SEPARATORS = ["/", "//", "(", ")", ",", " ", "  ", ""]
GRAMMAR_TOKENS = [
    "U",
    "UNCLASSIFIED",
    "C",
    "S",
    "SI",
    "SP-INV",
    "LEI",
    "FED ONLY",
    "DL ONLY",
    "REL TO USA, CAN",
    "DISPLAY ONLY IRQ",
    "XYZ",
    *CONTROLLED,
]
CASINGS = [str.upper, str.lower, str.title, str.swapcase]


def cased(words: list[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda word, case: case(word), st.sampled_from(words), st.sampled_from(CASINGS)
    )


# Arbitrary sequences of tokens and separators: mostly nonsense, which is the point.
token_soup = st.lists(
    st.one_of(cased(GRAMMAR_TOKENS), st.sampled_from(SEPARATORS)), max_size=12
).map("".join)
item = cased(GRAMMAR_TOKENS)
segment = st.lists(item, min_size=1, max_size=3).map("/".join)
banner = st.lists(segment, min_size=1, max_size=4).map("//".join)
# Well-formed markings, optionally in parentheses, so the parser's inner paths are exercised too.
well_formed = st.one_of(banner, banner.map(lambda text: f"({text})"))
markings = st.one_of(token_soup, well_formed)
fast = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(st.one_of(st.text(), markings))
def test_never_raises(text: str) -> None:
    assert isinstance(classify(text), MarkingClass)
    assert isinstance(classify_text(text), MarkingClass)
    assert isinstance(contains_controlled_token(text), bool)
    mark = leading_portion_mark(text)
    assert mark is None or text.lstrip().startswith(mark)


@fast
@given(st.text(), cased(CONTROLLED), st.text())
def test_controlled_token_anywhere_is_never_uncontrolled(
    before: str, token: str, after: str
) -> None:
    assert classify(before + token + after) is not M.UNCONTROLLED


@fast
@given(markings, cased(CONTROLLED), markings)
def test_controlled_token_inside_marking_is_never_uncontrolled(
    before: str, token: str, after: str
) -> None:
    assert classify(before + token + after) is not M.UNCONTROLLED


@fast
@given(st.text(), st.sampled_from(["/", "_", "-", " ", "(", ")", ".", "\n"]), cased(CONTROLLED))
def test_controlled_token_between_separators_is_found(before: str, sep: str, token: str) -> None:
    assert contains_controlled_token(before + sep + token + sep + before)


@fast
@given(markings)
def test_case_insensitive(marking: str) -> None:
    assert classify(marking) is classify(marking.upper()) is classify(marking.lower())
    assert (
        classify_text(marking) is classify_text(marking.upper()) is classify_text(marking.lower())
    )
