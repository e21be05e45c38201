"""The disclosure filter: what each victim audience receives, and that it fails closed.

Pure tests: records are built directly, or from model instances that never touch a database.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

import pytest

from voice.cases.models import Case, CaseEvent, Subject
from voice.disclosure import filter as disclosure_filter
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import (
    CONDITION_NOT_MET,
    FAIL_CLOSED,
    NEVER_DISCLOSED_EVENT,
    NOT_RELEASED,
    PROTECTED_PERSON,
    DisclosedView,
    FieldValue,
    Record,
    Withheld,
    disclose,
)
from voice.disclosure.policy import Policy, parse_policy
from voice.disclosure.records import case_record, event_record, markings_for

VICTIM_AUDIENCES = (Audience.VICTIM_VERIFIED, Audience.VICTIM_PENDING)
OUTWARD_AUDIENCES = (
    Audience.VICTIM_VERIFIED,
    Audience.VICTIM_PENDING,
    Audience.FAMILY,
    Audience.PARTNER,
)
HEARING_AT = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
SCALARS = (str, int, float, bool)

# Fields that harm rules or the policy keep from every victim audience.
NEVER_TO_VICTIMS = (
    "case.release_address",
    "case.transport_details",
    "case.officer_name",
    "case.informant_reference",
    "subject.a_number",
    "subject.date_of_birth",
    "event.notes",
    "case.related_persons",
    "case.scheduled_removal_at",
    "case.removal_port",
)
CONTROLLED_MARKINGS = (
    "(U//LES)",
    "CUI//SP-PRVCY",
    "FOUO",
    "(U//FOUO)",
    "UNCLASSIFIED//LES",
    "LAW ENFORCEMENT SENSITIVE",
    "CUI",
    "(CUI//SP-INV//NF)",
    "SBU",
    "SECRET//NOFORN",
    "(S)",
    "U//U",  # not one of the plain spellings of "unclassified": unknown, so withheld
    "NOT A MARKING",
    "",
)
UNCONTROLLED_MARKINGS = ("(U)", "UNCLASSIFIED", "U", "(UNCLASSIFIED)", "unclassified", " (u) ")


# --- builders ------------------------------------------------------------------------------------


def make_subject(**overrides: Any) -> Subject:
    values: dict[str, Any] = {
        "id": 1,
        "source": "enforce",
        "upstream_id": "S-F0001",
        "first_name": "Ramon",
        "middle_name": "Luis",
        "last_name": "Example",
        "aliases": ["R. Example"],
        "a_number": "A200100101",
        "date_of_birth": date(1988, 4, 12),
        "country_of_birth": "Exampleland",
        "country_of_citizenship": "Exampleland",
        "markings": {},
    }
    values.update(overrides)
    return Subject(**values)


def make_case(**overrides: Any) -> Case:
    """A case with every field filled and nothing marked."""
    values: dict[str, Any] = {
        "id": 1,
        "subject_id": 1,
        "case_number": "CASE-F-0001",
        "custody_status": "in_custody",
        "facility_name": "Example Processing Center",
        "facility_city": "Sampletown",
        "facility_state": "TX",
        "immigration_status": "removable",
        "proceedings_stage": "hearing_scheduled",
        "release_type": "bond",
        "release_address": "12 Example Street, Sampletown, TX 75001",
        "hearing_at": HEARING_AT,
        "hearing_court": "Sampletown Immigration Court",
        "scheduled_removal_at": datetime(2027, 1, 5, 6, 0, tzinfo=UTC),
        "removal_port": "Sampletown International Airport",
        "removed_to_country": "Exampleland",
        "transport_details": "Bus 14, leaves 05:00 from bay 3",
        "officer_name": "Officer J. Sample",
        "informant_reference": "CI-4471",
        "markings": {},
    }
    values.update(overrides)
    return Case(**values)


def make_event(
    event_type: str = "custody.booked",
    *,
    case: dict[str, Any] | None = None,
    markings: dict[str, str] | None = None,
    notes: str | None = "Subject was combative at intake.",
) -> CaseEvent:
    payload: dict[str, Any] = {
        "source": "enforce",
        "source_event_id": "f-0001",
        "occurred_at": "2026-11-02T09:15:00Z",
        "event_type": event_type,
        "subject": {"subject_id": "S-F0001"},
        "case": {"case_number": "CASE-F-0001", **(case or {})},
        "markings": markings or {},
    }
    if notes is not None:
        payload["notes"] = notes
    return CaseEvent(
        id=1,
        source="enforce",
        source_event_id="f-0001",
        event_type=event_type,
        occurred_at=datetime(2026, 11, 2, 9, 15, tzinfo=UTC),
        subject_id=1,
        case_id=1,
        payload=payload,
        markings=markings or {},
        payload_sha256="0" * 64,
        receipt_id="00000000-0000-0000-0000-000000000001",
    )


FULL_EVENT_CASE: dict[str, Any] = {
    "custody_status": "in_custody",
    "facility_name": "Example Processing Center",
    "facility_city": "Sampletown",
    "facility_state": "TX",
    "immigration_status": "removable",
    "proceedings_stage": "hearing_scheduled",
    "release_type": "bond",
    "release_address": "12 Example Street, Sampletown, TX 75001",
    "hearing_at": "2026-12-01T14:30:00Z",
    "hearing_court": "Sampletown Immigration Court",
    "scheduled_removal_at": "2027-01-05T06:00:00Z",
    "removal_port": "Sampletown International Airport",
    "transport_details": "Bus 14, leaves 05:00 from bay 3",
    "officer_name": "Officer J. Sample",
    "informant_reference": "CI-4471",
    "related_persons": [{"role": "witness", "name": "Wanda Witness", "contact": "555-0100"}],
}


def one_field(
    name: str,
    value: Any,
    *,
    markings: tuple[str, ...] = (),
    custody_status: str | None = "in_custody",
    subject_protected: bool = False,
    event_type: str | None = None,
) -> Record:
    return Record(
        fields={name: FieldValue(value, markings)},
        subject_protected=subject_protected,
        custody_status=custody_status,
        event_type=event_type,
    )


def reasons(view: DisclosedView) -> dict[str, str]:
    return {w.field: w.reason for w in view.withheld}


def assert_only_scalars(view: DisclosedView) -> None:
    for name, value in view.released.items():
        assert isinstance(value, SCALARS), f"{name} released as {type(value).__name__}"


# --- what a verified victim receives -------------------------------------------------------------


def test_verified_victim_gets_exactly_the_releasable_case_fields_in_custody(
    policy: Policy,
) -> None:
    view = disclose(
        case_record(make_subject(), make_case()), audience=Audience.VICTIM_VERIFIED, policy=policy
    )

    assert dict(view.released) == {
        "subject.first_name": "Ramon",
        "subject.middle_name": "Luis",
        "subject.last_name": "Example",
        "case.custody_status": "in_custody",
        "case.facility_name": "Example Processing Center",
        "case.facility_city": "Sampletown",
        "case.facility_state": "TX",
        "case.immigration_status": "removable",
        "case.proceedings_stage": "hearing_scheduled",
        "case.hearing_at": HEARING_AT.isoformat(),
        "case.hearing_court": "Sampletown Immigration Court",
        "case.release_type": "bond",
    }
    why = reasons(view)
    assert why["case.removed_to_country"] == CONDITION_NOT_MET
    for name in (
        "case.case_number",
        "case.release_address",
        "case.transport_details",
        "case.officer_name",
        "case.informant_reference",
        "case.scheduled_removal_at",
        "case.removal_port",
        "subject.a_number",
        "subject.date_of_birth",
        "subject.aliases",
        "subject.country_of_birth",
        "subject.country_of_citizenship",
    ):
        assert why[name] == NOT_RELEASED, name
    # Every non-empty field is accounted for: released or withheld, never both.
    assert set(view.released).isdisjoint(why)
    assert_only_scalars(view)


def test_verified_victim_gets_removed_to_country_only_once_removed(policy: Policy) -> None:
    record = case_record(make_subject(), make_case(custody_status="removed"))
    view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)

    assert view.released["case.removed_to_country"] == "Exampleland"
    assert view.released["case.custody_status"] == "removed"
    why = reasons(view)
    for name in ("case.facility_name", "case.facility_city", "case.facility_state"):
        assert name not in view.released
        assert why[name] == CONDITION_NOT_MET


@pytest.mark.parametrize("status", ["released", "escaped", "not_in_custody", "deceased", None])
def test_facility_is_withheld_unless_in_custody(policy: Policy, status: str | None) -> None:
    record = case_record(make_subject(), make_case(custody_status=status))
    for audience in VICTIM_AUDIENCES:
        view = disclose(record, audience=audience, policy=policy)
        assert "case.facility_name" not in view.released
        assert reasons(view)["case.facility_name"] == CONDITION_NOT_MET
        if audience is Audience.VICTIM_VERIFIED:
            assert "case.facility_city" not in view.released
            assert "case.facility_state" not in view.released
            assert "case.removed_to_country" not in view.released


def test_verified_victim_event_notice_releases_event_and_case_fields(policy: Policy) -> None:
    record = event_record(make_event(case=FULL_EVENT_CASE), make_subject(), make_case())
    view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)

    assert dict(view.released) == {
        "event.event_type": "custody.booked",
        "event.occurred_at": "2026-11-02T09:15:00+00:00",
        "subject.first_name": "Ramon",
        "subject.middle_name": "Luis",
        "subject.last_name": "Example",
        "case.custody_status": "in_custody",
        "case.facility_name": "Example Processing Center",
        "case.facility_city": "Sampletown",
        "case.facility_state": "TX",
        "case.immigration_status": "removable",
        "case.proceedings_stage": "hearing_scheduled",
        "case.hearing_at": "2026-12-01T14:30:00Z",
        "case.hearing_court": "Sampletown Immigration Court",
        "case.release_type": "bond",
    }
    assert_only_scalars(view)


def test_event_notice_uses_the_custody_status_the_event_sets(policy: Policy) -> None:
    # The stored case still says in_custody; the event says removed.
    event = make_event(
        "removal.completed",
        case={
            "custody_status": "removed",
            "removed_to_country": "Exampleland",
            "facility_name": "Example Processing Center",
        },
    )
    view = disclose(
        event_record(event, make_subject(), make_case()),
        audience=Audience.VICTIM_VERIFIED,
        policy=policy,
    )
    assert view.released["case.removed_to_country"] == "Exampleland"
    assert reasons(view)["case.facility_name"] == CONDITION_NOT_MET


# --- what is never released to victims -----------------------------------------------------------


@pytest.mark.parametrize("audience", VICTIM_AUDIENCES)
def test_harmful_and_identifying_fields_never_reach_victims(
    policy: Policy, audience: Audience
) -> None:
    for custody_status in ("in_custody", "released", "removed"):
        event = make_event(case={**FULL_EVENT_CASE, "custody_status": custody_status})
        view = disclose(
            event_record(event, make_subject(), make_case(custody_status=custody_status)),
            audience=audience,
            policy=policy,
        )
        why = reasons(view)
        for name in NEVER_TO_VICTIMS:
            assert name not in view.released, (name, custody_status)
            assert why[name] == NOT_RELEASED, (name, custody_status)
        assert_only_scalars(view)


@pytest.mark.parametrize("audience", VICTIM_AUDIENCES)
@pytest.mark.parametrize("name", NEVER_TO_VICTIMS)
def test_each_never_released_field_alone_is_withheld(
    policy: Policy, audience: Audience, name: str
) -> None:
    value: Any = [{"role": "witness", "name": "Wanda"}] if name.endswith("persons") else "x1"
    view = disclose(one_field(name, value), audience=audience, policy=policy)
    assert dict(view.released) == {}
    assert view.withheld == (Withheld(name, NOT_RELEASED),)


# --- what a pending registrant receives ----------------------------------------------------------


def test_pending_registrant_gets_only_locator_fields(policy: Policy) -> None:
    view = disclose(
        case_record(make_subject(), make_case()), audience=Audience.VICTIM_PENDING, policy=policy
    )
    assert dict(view.released) == {
        "subject.first_name": "Ramon",
        "subject.middle_name": "Luis",
        "subject.last_name": "Example",
        "subject.country_of_birth": "Exampleland",
        "case.custody_status": "in_custody",
        "case.facility_name": "Example Processing Center",
    }
    why = reasons(view)
    for name in (
        "case.facility_city",
        "case.facility_state",
        "case.immigration_status",
        "case.proceedings_stage",
        "case.hearing_at",
        "case.hearing_court",
        "case.release_type",
        "case.removed_to_country",
    ):
        assert why[name] == NOT_RELEASED, name


def test_pending_registrant_event_notice(policy: Policy) -> None:
    record = event_record(make_event(case=FULL_EVENT_CASE), make_subject(), make_case())
    view = disclose(record, audience=Audience.VICTIM_PENDING, policy=policy)
    assert set(view.released) == {
        "event.event_type",
        "event.occurred_at",
        "subject.first_name",
        "subject.middle_name",
        "subject.last_name",
        "subject.country_of_birth",
        "case.custody_status",
        "case.facility_name",
    }


@pytest.mark.parametrize("audience", [Audience.FAMILY, Audience.PARTNER])
def test_audiences_without_a_release_list_get_nothing(policy: Policy, audience: Audience) -> None:
    view = disclose(case_record(make_subject(), make_case()), audience=audience, policy=policy)
    assert dict(view.released) == {}
    assert view.withheld
    assert {w.reason for w in view.withheld} == {NOT_RELEASED}


# --- markings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("marking", CONTROLLED_MARKINGS)
def test_a_controlled_or_doubtful_marking_withholds_the_field(policy: Policy, marking: str) -> None:
    record = one_field("case.custody_status", "in_custody", markings=(marking,))
    for audience in VICTIM_AUDIENCES:
        view = disclose(record, audience=audience, policy=policy)
        assert dict(view.released) == {}
        assert len(view.withheld) == 1
        assert view.withheld[0].field == "case.custody_status"
        assert view.withheld[0].reason.startswith("marking."), view.withheld[0].reason


@pytest.mark.parametrize("marking", UNCONTROLLED_MARKINGS)
def test_an_unclassified_marking_is_no_reason_to_withhold(policy: Policy, marking: str) -> None:
    record = one_field("case.custody_status", "in_custody", markings=(marking,))
    view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)
    assert dict(view.released) == {"case.custody_status": "in_custody"}
    assert view.withheld == ()


def test_one_controlled_marking_among_unclassified_ones_withholds(policy: Policy) -> None:
    record = one_field("case.custody_status", "in_custody", markings=("(U)", "(U//LES)", "U"))
    view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)
    assert dict(view.released) == {}
    assert reasons(view) == {"case.custody_status": "marking.legacy_controlled"}


def test_marking_reasons_name_the_marking_class(policy: Policy) -> None:
    expected = {
        "(U//LES)": "marking.legacy_controlled",
        "CUI//SP-PRVCY": "marking.cui",
        "SECRET": "marking.classified",
        "U//U": "marking.unknown",
        "((U))": "marking.malformed",
    }
    for marking, reason in expected.items():
        record = one_field("case.custody_status", "in_custody", markings=(marking,))
        view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)
        assert reasons(view) == {"case.custody_status": reason}, marking


def test_marked_subject_and_case_fields_from_stored_models_are_withheld(policy: Policy) -> None:
    subject = make_subject(markings={"last_name": ["(U//LES)"], "first_name": ["(U)"]})
    case = make_case(markings={"facility_name": ["CUI//SP-PRVCY"], "hearing_court": ["FOUO"]})
    view = disclose(case_record(subject, case), audience=Audience.VICTIM_VERIFIED, policy=policy)

    assert view.released["subject.first_name"] == "Ramon"
    why = reasons(view)
    assert why["subject.last_name"] == "marking.legacy_controlled"
    assert why["case.facility_name"] == "marking.cui"
    assert why["case.hearing_court"] == "marking.legacy_controlled"
    for name in ("subject.last_name", "case.facility_name", "case.hearing_court"):
        assert name not in view.released
    assert view.released["case.facility_city"] == "Sampletown"


@pytest.mark.parametrize(
    "value",
    [
        "(U//LES) Example Processing Center",
        "(CUI) Example Processing Center",
        "(S//NF) Example Processing Center",
        "(FOUO)Example Processing Center",
        "  (u//fouo) Example Processing Center",
    ],
)
def test_a_value_opening_with_a_controlled_portion_mark_is_withheld(
    policy: Policy, value: str
) -> None:
    for audience in VICTIM_AUDIENCES:
        view = disclose(one_field("case.facility_name", value), audience=audience, policy=policy)
        assert dict(view.released) == {}
        assert reasons(view)["case.facility_name"].startswith("marking.")


@pytest.mark.parametrize(
    "value",
    [
        # A portion mark that lost its ")": classify_text calls this malformed.
        "(U//LES Example Processing Center",
        # Full-width look-alikes, which NFKC folds onto (U//LES).
        "\uff08\uff35//\uff2c\uff25\uff33\uff09 Example Processing Center",
        # Portion marks open paragraphs; the second one here is classified.
        "(U) Example Processing Center\n(S//NF) Annex B, cell block 4",
    ],
)
def test_a_value_whose_text_carries_a_controlled_or_malformed_mark_is_withheld(
    policy: Policy, value: str
) -> None:
    """Invariant 1: a malformed or controlled marking in a value means the value is withheld."""
    view = disclose(
        one_field("case.facility_name", value), audience=Audience.VICTIM_VERIFIED, policy=policy
    )
    assert dict(view.released) == {}
    assert reasons(view)["case.facility_name"].startswith("marking.")


def test_a_value_opening_with_an_unclassified_portion_mark_is_released(policy: Policy) -> None:
    value = "(U) Example Processing Center"
    view = disclose(
        one_field("case.facility_name", value), audience=Audience.VICTIM_VERIFIED, policy=policy
    )
    assert dict(view.released) == {"case.facility_name": value}


def test_markings_for_collects_own_and_parent_markings() -> None:
    markings = {
        "": "(U//FOUO)",
        "/case": "CUI//SP-PRVCY",
        "/case/facility_name": "(U//LES)",
        "/case/facility": "SECRET",  # a sibling prefix, not a parent
        "/subject": "(U)",
        "/notes": "(U//LES)",
    }
    assert set(markings_for("/case/facility_name", markings)) == {
        "(U//FOUO)",
        "CUI//SP-PRVCY",
        "(U//LES)",
    }
    assert set(markings_for("/case/facility_city", markings)) == {"(U//FOUO)", "CUI//SP-PRVCY"}
    assert set(markings_for("/subject/first_name", markings)) == {"(U//FOUO)", "(U)"}
    assert set(markings_for("/event_type", markings)) == {"(U//FOUO)"}
    assert markings_for("/case/facility_name", {}) == ()
    assert markings_for("/casework/x", {"/case": "FOUO"}) == ()
    assert markings_for("/case", {"/case/facility_name": "FOUO"}) == ()
    assert markings_for("/case", {"/case": "FOUO"}) == ("FOUO",)


def test_a_whole_event_marking_withholds_everything_the_event_says(policy: Policy) -> None:
    event = make_event(case=FULL_EVENT_CASE, markings={"": "(U//LES)"})
    record = event_record(event, make_subject(), make_case())
    for audience in VICTIM_AUDIENCES:
        view = disclose(record, audience=audience, policy=policy)
        for name in view.released:
            # Only the subject's stored names, which came from an earlier unmarked event, remain.
            assert name.startswith("subject."), name
        why = reasons(view)
        assert why["event.event_type"] == "marking.legacy_controlled"
        assert why["event.occurred_at"] == "marking.legacy_controlled"
        assert why["case.custody_status"] == "marking.legacy_controlled"
        assert "case.facility_name" in why


def test_a_case_marking_covers_every_case_field_of_the_event(policy: Policy) -> None:
    event = make_event(case=FULL_EVENT_CASE, markings={"/case": "CUI//SP-LEI"})
    view = disclose(
        event_record(event, make_subject(), make_case()),
        audience=Audience.VICTIM_VERIFIED,
        policy=policy,
    )
    assert not [name for name in view.released if name.startswith("case.")]
    assert view.released["event.event_type"] == "custody.booked"
    assert view.released["subject.last_name"] == "Example"
    why = reasons(view)
    for name in ("custody_status", "facility_name", "hearing_at", "release_type"):
        assert why[f"case.{name}"] == "marking.cui", name


def test_a_field_marking_covers_only_that_field(policy: Policy) -> None:
    event = make_event(case=FULL_EVENT_CASE, markings={"/case/facility_name": "(U//LES)"})
    view = disclose(
        event_record(event, make_subject(), make_case()),
        audience=Audience.VICTIM_VERIFIED,
        policy=policy,
    )
    assert "case.facility_name" not in view.released
    assert view.released["case.facility_city"] == "Sampletown"
    assert view.released["case.custody_status"] == "in_custody"


# --- harm rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [{"is_minor": True}, {"protected_1367": True}])
@pytest.mark.parametrize("audience", OUTWARD_AUDIENCES)
def test_protected_subject_releases_nothing(
    policy: Policy, flags: dict[str, bool], audience: Audience
) -> None:
    subject = make_subject(**flags)
    for record in (
        case_record(subject, make_case()),
        event_record(make_event(case=FULL_EVENT_CASE), subject, make_case()),
    ):
        assert record.subject_protected
        view = disclose(record, audience=audience, policy=policy)
        assert dict(view.released) == {}
        assert view.withheld
        assert {w.reason for w in view.withheld} == {PROTECTED_PERSON}


def test_protected_record_built_directly_releases_nothing(policy: Policy) -> None:
    record = one_field("case.custody_status", "in_custody", subject_protected=True)
    view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)
    assert dict(view.released) == {}
    assert view.withheld == (Withheld("case.custody_status", PROTECTED_PERSON),)


@pytest.mark.parametrize("audience", OUTWARD_AUDIENCES)
def test_removal_scheduled_events_release_nothing(policy: Policy, audience: Audience) -> None:
    event = make_event(
        "removal.scheduled",
        case={
            "custody_status": "in_custody",
            "facility_name": "Example Processing Center",
            "scheduled_removal_at": "2027-01-05T06:00:00Z",
            "removal_port": "Sampletown International Airport",
        },
    )
    view = disclose(
        event_record(event, make_subject(), make_case()), audience=audience, policy=policy
    )
    assert dict(view.released) == {}
    assert {w.reason for w in view.withheld} == {NEVER_DISCLOSED_EVENT}
    assert {w.field for w in view.withheld} >= {"event.event_type", "subject.last_name"}


def test_removal_completed_is_disclosed_after_the_fact(policy: Policy) -> None:
    event = make_event(
        "removal.completed",
        case={"custody_status": "removed", "removed_to_country": "Exampleland"},
    )
    view = disclose(
        event_record(event, make_subject(), make_case(custody_status="removed")),
        audience=Audience.VICTIM_VERIFIED,
        policy=policy,
    )
    assert view.released["event.event_type"] == "removal.completed"
    assert view.released["case.removed_to_country"] == "Exampleland"


@pytest.mark.parametrize("audience", list(Audience))
def test_unknown_fields_are_withheld(policy: Policy, audience: Audience) -> None:
    view = disclose(one_field("case.something_new", "value"), audience=audience, policy=policy)
    assert dict(view.released) == {}
    assert view.withheld == (Withheld("case.something_new", NOT_RELEASED),)


def test_empty_values_are_neither_released_nor_withheld(policy: Policy) -> None:
    record = Record(
        fields={
            "case.custody_status": FieldValue(None),
            "case.facility_name": FieldValue(""),
            "subject.aliases": FieldValue([]),
            "subject.first_name": FieldValue("Ramon"),
        },
        subject_protected=False,
        custody_status="in_custody",
    )
    view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)
    assert dict(view.released) == {"subject.first_name": "Ramon"}
    assert view.withheld == ()


# --- failing closed ------------------------------------------------------------------------------


def test_an_error_inside_the_decision_withholds_everything(
    policy: Policy, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(marking: str) -> Any:
        raise RuntimeError("Officer J. Sample")

    monkeypatch.setattr(disclosure_filter, "classify", broken)
    subject = make_subject(markings={"first_name": ["(U)"]})
    record = case_record(subject, make_case())

    with caplog.at_level(logging.DEBUG):
        view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)

    assert dict(view.released) == {}
    assert {w.reason for w in view.withheld} == {FAIL_CLOSED}
    assert [w.field for w in view.withheld] == sorted(record.fields)
    # Only the exception type is logged, never its text (which could quote the data).
    assert "Officer J. Sample" not in caplog.text
    assert "RuntimeError" in caplog.text


def test_an_error_on_a_portion_mark_also_fails_closed(
    policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(disclosure_filter, "classify_text", broken)
    view = disclose(
        case_record(make_subject(), make_case()), audience=Audience.VICTIM_VERIFIED, policy=policy
    )
    assert dict(view.released) == {}
    assert view.withheld
    assert {w.reason for w in view.withheld} == {FAIL_CLOSED}


def test_a_policy_that_lists_a_structured_field_fails_closed() -> None:
    careless = parse_policy(
        b"version: '1'\n"
        b"default: withhold\n"
        b"audiences:\n"
        b"  victim_verified:\n"
        b"    release: [subject.first_name, subject.aliases, case.related_persons]\n"
    )
    for value in (["R. Example"], {"alias": "R. Example"}):
        record = Record(
            fields={
                "subject.first_name": FieldValue("Ramon"),
                "subject.aliases": FieldValue(value),
            },
            subject_protected=False,
            custody_status="in_custody",
        )
        view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=careless)
        assert dict(view.released) == {}
        assert {w.reason for w in view.withheld} == {FAIL_CLOSED}


def test_released_values_are_always_scalars(policy: Policy) -> None:
    records = [
        case_record(make_subject(), make_case()),
        case_record(make_subject(), make_case(custody_status="removed")),
        event_record(make_event(case=FULL_EVENT_CASE), make_subject(), make_case()),
    ]
    for record in records:
        for audience in Audience:
            view = disclose(record, audience=audience, policy=policy)
            assert_only_scalars(view)


def test_released_mapping_is_read_only(policy: Policy) -> None:
    view = disclose(
        case_record(make_subject(), make_case()), audience=Audience.VICTIM_VERIFIED, policy=policy
    )
    with pytest.raises(TypeError):
        view.released["case.release_address"] = "12 Example Street"  # type: ignore[index]


# --- the nested view -----------------------------------------------------------------------------


def test_nested_groups_released_fields_by_area() -> None:
    view = DisclosedView(
        audience=Audience.VICTIM_VERIFIED,
        released={
            "event.event_type": "custody.booked",
            "subject.first_name": "Ramon",
            "subject.last_name": "Example",
            "case.custody_status": "in_custody",
        },
        withheld=(Withheld("case.officer_name", NOT_RELEASED),),
    )
    assert view.nested() == {
        "event": {"event_type": "custody.booked"},
        "subject": {"first_name": "Ramon", "last_name": "Example"},
        "case": {"custody_status": "in_custody"},
    }
    assert DisclosedView(Audience.PARTNER, {}).nested() == {}


def test_nested_of_a_real_view_holds_only_released_fields(policy: Policy) -> None:
    view = disclose(
        event_record(make_event(case=FULL_EVENT_CASE), make_subject(), make_case()),
        audience=Audience.VICTIM_PENDING,
        policy=policy,
    )
    assert view.nested() == {
        "event": {"event_type": "custody.booked", "occurred_at": "2026-11-02T09:15:00+00:00"},
        "subject": {
            "first_name": "Ramon",
            "middle_name": "Luis",
            "last_name": "Example",
            "country_of_birth": "Exampleland",
        },
        "case": {"custody_status": "in_custody", "facility_name": "Example Processing Center"},
    }
