"""Every cell of the compiled decision table against the issue's rules (tests/disclosure/oracle).

Marking class x field class x audience, under every combination of harm flags and custody.
"""

from __future__ import annotations

import pytest

from tests.disclosure.oracle import releasable
from voice.disclosure.audiences import OUTWARD, Audience
from voice.disclosure.compiler import (
    FLAG_COMBINATIONS,
    MARKING_ORDER,
    UNKNOWN_CLASS,
    flags_of,
)
from voice.disclosure.policy import Policy


@pytest.mark.parametrize("audience", list(Audience))
def test_every_cell_matches_the_issue(policy: Policy, audience: Audience) -> None:
    classes = [*policy.catalogue.classes, UNKNOWN_CLASS]
    checked = 0
    for key in range(FLAG_COMBINATIONS):
        flags = flags_of(key)
        for field_class in classes:
            for marking in MARKING_ORDER:
                decision = policy.table.decide(
                    audience=audience, key=key, field_class=field_class, marking=marking
                )
                expected = releasable(
                    audience=audience, field_class=field_class, marking=marking, **flags
                )
                assert decision.release is expected, (audience, flags, field_class, marking)
                assert decision.rule_id
                assert decision.basis
                checked += 1
    assert checked == FLAG_COMBINATIONS * len(classes) * len(MARKING_ORDER)


def test_the_table_has_every_cell_and_no_evaluation_errors(policy: Policy) -> None:
    assert len(policy.table.cells) == len(Audience) * FLAG_COMBINATIONS
    assert policy.table.errors == ()
    for by_class in policy.table.cells.values():
        assert set(by_class) == {*policy.catalogue.classes, UNKNOWN_CLASS}
        assert all(len(row) == len(MARKING_ORDER) for row in by_class.values())


@pytest.mark.parametrize(
    ("flags", "rule_id"),
    [
        ({"safety_hold": True}, "harm.safety_hold"),
        ({"minor": True}, "harm.minor"),
        ({"protected_1367": True}, "harm.protected_1367"),
        ({"removal_scheduled": True}, "harm.removal_before_the_fact"),
    ],
)
def test_blanket_harm_rules_name_themselves_for_every_outward_field(
    policy: Policy, flags: dict[str, bool], rule_id: str
) -> None:
    from voice.disclosure.compiler import CUSTODY_STATES, flag_key

    base = dict.fromkeys(("minor", "protected_1367", "safety_hold", "removal_scheduled"), False)
    key = flag_key(**{**base, **flags}, custody=CUSTODY_STATES.index("in_custody"))
    for audience in OUTWARD:
        for field_class in policy.catalogue.classes:
            decision = policy.table.decide(
                audience=audience, key=key, field_class=field_class, marking=MARKING_ORDER[0]
            )
            assert not decision.release
            assert decision.rule_id == rule_id, (audience, field_class)
