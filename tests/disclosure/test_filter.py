"""The disclosure filter on records built in memory: what each audience receives and why not."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.disclosure.builders import (
    FULL_EVENT_CASE,
    HEARING_AT,
    make_case,
    make_event,
    make_subject,
)
from voice.cases.fields import IMPLIED_CUSTODY, markings_for
from voice.disclosure import filter as disclosure_filter
from voice.disclosure.audiences import OUTWARD, STAFF, Audience
from voice.disclosure.filter import FAIL_CLOSED, DisclosedView, FieldValue, Record, disclose
from voice.disclosure.policy import Policy
from voice.disclosure.records import case_record, event_record, payload_record

# Point 4 of the issue: what a verified victim receives when nothing is marked.
VERIFIED_FACTS = {
    "subject.first_name": "Ramon",
    "subject.middle_name": "Luis",
    "subject.last_name": "Example",
    # What the public locator shows, a verified victim gets too.
    "subject.country_of_birth": "Exampleland",
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
NEVER_OUTWARD = (
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


def rules(view: DisclosedView) -> dict[str, str]:
    return {w.field: w.rule_id for w in view.withheld}


def one_field(name: str, value: Any, *markings: str, **record: Any) -> Record:
    record.setdefault("subject_protected", False)
    record.setdefault("custody_status", "in_custody")
    return Record(fields={name: FieldValue(value, markings)}, **record)


# --- the positive side: the office's purpose ---------------------------------------------------


@pytest.mark.parametrize("marking", [None, "(U)", "UNCLASSIFIED"])
@pytest.mark.parametrize("audience", [Audience.VICTIM_VERIFIED, Audience.FAMILY, Audience.PARTNER])
def test_verified_audiences_receive_every_fact_of_point_4(
    policy: Policy, marking: str | None, audience: Audience
) -> None:
    case = make_case()
    subject = make_subject()
    if marking:
        case.markings = {name.split(".")[1]: [marking] for name in VERIFIED_FACTS}
        subject.markings = {name.split(".")[1]: [marking] for name in VERIFIED_FACTS}
    view = disclose(case_record(subject, case), audience=audience, policy=policy)
    assert dict(view.released) == VERIFIED_FACTS
    assert view.message is None
    for name in NEVER_OUTWARD:
        if name in rules(view):
            assert rules(view)[name].startswith("harm.")


def test_removal_completed_and_country_after_the_fact(policy: Policy) -> None:
    event = make_event("removal.completed", case={"removed_to_country": "Exampleland"}, notes=None)
    view = disclose(
        event_record(event, make_subject(), make_case(custody_status="removed")),
        audience=Audience.VICTIM_VERIFIED,
        policy=policy,
    )
    assert view.released["event.event_type"] == "removal.completed"
    assert view.released["case.removed_to_country"] == "Exampleland"


def test_removed_to_country_waits_for_the_removal(policy: Policy) -> None:
    view = disclose(
        case_record(make_subject(), make_case()), audience=Audience.VICTIM_VERIFIED, policy=policy
    )
    assert "case.removed_to_country" not in view.released
    assert rules(view)["case.removed_to_country"] == "default"


@pytest.mark.parametrize("status", ["removed", "deceased", None])
def test_facility_only_while_in_custody_or_just_left(policy: Policy, status: str | None) -> None:
    record = case_record(make_subject(), make_case(custody_status=status))
    for audience in (Audience.VICTIM_VERIFIED, Audience.VICTIM_PENDING):
        view = disclose(record, audience=audience, policy=policy)
        assert not {"case.facility_name", "case.facility_city"} & set(view.released)


@pytest.mark.parametrize("status", ["released", "escaped"])
def test_the_facility_left_goes_to_verified_victims_not_the_locator(
    policy: Policy, status: str
) -> None:
    record = case_record(make_subject(), make_case(custody_status=status))
    verified = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)
    assert {"case.facility_name", "case.facility_city"} <= set(verified.released)
    pending = disclose(record, audience=Audience.VICTIM_PENDING, policy=policy)
    assert not {"case.facility_name", "case.facility_city"} & set(pending.released)


def test_release_type_but_never_the_address(policy: Policy) -> None:
    event = make_event(
        "custody.released",
        case={"custody_status": "released", "release_type": "bond", "release_address": "1 Way"},
        markings={"/case/release_address": "(U)"},
    )
    view = disclose(
        event_record(event, make_subject(), make_case(custody_status="released")),
        audience=Audience.VICTIM_VERIFIED,
        policy=policy,
    )
    assert view.released["case.release_type"] == "bond"
    assert rules(view)["case.release_address"] == "harm.release_address"


def test_pending_registrant_sees_only_the_public_locator(policy: Policy) -> None:
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


# --- harm rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("audience", sorted(OUTWARD))
def test_harmful_fields_never_go_outward_even_marked_unclassified(
    policy: Policy, audience: Audience
) -> None:
    event = make_event(case=FULL_EVENT_CASE, markings={"": "(U)"})
    view = disclose(
        event_record(event, make_subject(), make_case()), audience=audience, policy=policy
    )
    for name in NEVER_OUTWARD:
        assert name not in view.released, name
        assert rules(view)[name].startswith("harm."), name


@pytest.mark.parametrize("flag", ["is_minor", "protected_1367"])
@pytest.mark.parametrize("audience", sorted(OUTWARD))
def test_2017_minor_and_1367_subjects_are_never_disclosed_outward(
    policy: Policy, flag: str, audience: Audience
) -> None:
    subject = make_subject(**{flag: True})
    expected_rule = "harm.minor" if flag == "is_minor" else "harm.protected_1367"
    for record in (
        case_record(subject, make_case()),
        event_record(make_event(case=FULL_EVENT_CASE), subject, make_case()),
        event_record(make_event("removal.completed", notes=None), subject, make_case()),
    ):
        view = disclose(record, audience=audience, policy=policy)
        assert dict(view.released) == {}
        assert set(rules(view).values()) == {expected_rule}
        assert view.message == policy.neutral_message


def test_a_protected_record_without_saying_why_is_withheld_as_both(policy: Policy) -> None:
    record = one_field("subject.last_name", "Example", subject_protected=True)
    view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)
    assert rules(view) == {"subject.last_name": "harm.minor"}


def test_staff_still_see_a_protected_subject(policy: Policy) -> None:
    record = case_record(make_subject(is_minor=True), make_case())
    view = disclose(record, audience=Audience.LIAISON, policy=policy)
    assert view.released["subject.last_name"] == "Example"
    assert view.released["case.release_address"].startswith("12 Example")


@pytest.mark.parametrize("audience", sorted(OUTWARD))
def test_removal_scheduled_is_never_disclosed(policy: Policy, audience: Audience) -> None:
    event = make_event("removal.scheduled", case={"custody_status": "in_custody"}, notes=None)
    view = disclose(
        event_record(event, make_subject(), make_case()), audience=audience, policy=policy
    )
    assert dict(view.released) == {}
    assert set(rules(view).values()) == {"harm.removal_before_the_fact"}


@pytest.mark.parametrize("audience", sorted(OUTWARD))
def test_a_safety_hold_withholds_everything_behind_the_neutral_message(
    policy: Policy, audience: Audience
) -> None:
    view = disclose(
        case_record(make_subject(), make_case(), safety_hold=True), audience=audience, policy=policy
    )
    assert dict(view.released) == {}
    assert set(rules(view).values()) == {"harm.safety_hold"}
    assert view.message == policy.neutral_message
    assert "not available right now" in policy.neutral_message
    assert "VOICE office" in policy.neutral_message


def test_staff_see_through_a_hold_and_are_told_why_things_are_withheld(policy: Policy) -> None:
    record = case_record(make_subject(), make_case(), safety_hold=True)
    for audience in STAFF - {Audience.AUDITOR}:
        view = disclose(record, audience=audience, policy=policy)
        assert view.released["subject.last_name"] == "Example"
        assert view.message is None
    auditor = disclose(record, audience=Audience.AUDITOR, policy=policy)
    assert set(auditor.released) == {
        "case.case_number",
        "case.custody_status",
        "case.proceedings_stage",
    }
    assert all(w.basis for w in auditor.withheld)


# --- markings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marking", "rule_id"),
    [
        ("(U//LES)", "marking.legacy"),
        ("UNCLASSIFIED//LES", "marking.legacy"),
        ("FOR OFFICIAL USE ONLY", "marking.legacy"),
        ("SBU", "marking.legacy"),
        ("CUI", "marking.cui"),
        ("(CUI//SP-INV//NF)", "marking.cui"),
        ("CUI//SP-LEI//FED ONLY", "marking.cui"),
        ("SECRET//NOFORN", "marking.classified"),
        ("(S)", "marking.classified"),
        ("U//U", "marking.unrecognised"),
        ("NOT A MARKING", "marking.unrecognised"),
        ("", "marking.unrecognised"),
    ],
)
def test_a_marked_field_is_withheld_with_the_marking_rule(
    policy: Policy, marking: str, rule_id: str
) -> None:
    for audience in (Audience.VICTIM_VERIFIED, Audience.PARTNER):
        view = disclose(
            one_field("case.custody_status", "in_custody", marking),
            audience=audience,
            policy=policy,
        )
        assert rules(view) == {"case.custody_status": rule_id}


def test_one_controlled_marking_among_unclassified_ones_withholds(policy: Policy) -> None:
    record = one_field("case.custody_status", "in_custody", "(U)", "FOUO", "UNCLASSIFIED")
    view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)
    assert rules(view) == {"case.custody_status": "marking.legacy"}


@pytest.mark.parametrize(
    "value",
    [
        "(U//LES) Sampletown Immigration Court",
        "Sampletown Immigration Court\n(CUI) second paragraph",
        "(U//FOUO Sampletown",
        "Sampletown (U//LES) court",
        "UNCLASSIFIED//FOR OFFICIAL USE ONLY\nSampletown",
    ],
)
def test_a_mark_inside_the_value_withholds(policy: Policy, value: str) -> None:
    view = disclose(
        one_field("case.hearing_court", value), audience=Audience.VICTIM_VERIFIED, policy=policy
    )
    assert "case.hearing_court" not in view.released


def test_an_unclassified_portion_mark_and_plain_parentheses_are_released(policy: Policy) -> None:
    for value in ("(U) Sampletown Immigration Court", "Sampletown Court (Annex B)"):
        view = disclose(
            one_field("case.hearing_court", value), audience=Audience.VICTIM_VERIFIED, policy=policy
        )
        assert view.released == {"case.hearing_court": value}


def test_an_unmarked_field_takes_its_default_marking(policy: Policy) -> None:
    # Officer names default to (U//LES): staff see them, and an explicit (U) does not make them
    # go to victims either, because a harm rule applies.
    assert policy.catalogue.fields["case.officer_name"].default_marking == "(U//LES)"
    view = disclose(
        one_field("case.officer_name", "J. Sample"), audience=Audience.LIAISON, policy=policy
    )
    assert view.released == {"case.officer_name": "J. Sample"}
    view = disclose(
        one_field("subject.aliases", ["R. Example"]),
        audience=Audience.VICTIM_VERIFIED,
        policy=policy,
    )
    assert rules(view) == {"subject.aliases": "marking.legacy"}


def test_a_whole_event_marking_covers_every_field(policy: Policy) -> None:
    event = make_event(case=FULL_EVENT_CASE, markings={"": "(U//FOUO)"})
    record = event_record(event, make_subject(), make_case())
    view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)
    assert not any(name.startswith(("event.", "case.")) for name in view.released)


def test_markings_for_collects_own_and_parent_markings() -> None:
    markings = {"": "A", "/case": "B", "/case/facility_name": "C", "/case/facility": "D", "x": "E"}
    assert markings_for("/case/facility_name", markings) == ("A", "B", "C", "E")
    assert markings_for("/notes", markings) == ("A", "E")


# --- fails closed --------------------------------------------------------------------------------


@pytest.mark.parametrize("audience", list(Audience))
def test_an_unknown_field_is_withheld_from_everyone(policy: Policy, audience: Audience) -> None:
    view = disclose(one_field("case.secret_plans", "x"), audience=audience, policy=policy)
    assert rules(view) == {"case.secret_plans": "fail_closed.unknown_field"}


def test_empty_values_are_neither_released_nor_withheld(policy: Policy) -> None:
    record = Record(
        fields={
            "subject.middle_name": FieldValue(None),
            "subject.aliases": FieldValue([]),
            "subject.first_name": FieldValue(""),
        },
        subject_protected=False,
        custody_status=None,
    )
    view = disclose(record, audience=Audience.LIAISON, policy=policy)
    assert dict(view.released) == {}
    assert view.withheld == ()


def test_an_error_inside_the_filter_withholds_everything(
    policy: Policy, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(*_: Any) -> int:
        raise RuntimeError("Ramon Example at 12 Example Street")

    monkeypatch.setattr(disclosure_filter, "marking_index_of_markings", boom)
    record = one_field("case.custody_status", "in_custody", "(U)")
    with caplog.at_level(logging.ERROR):
        view = disclose(record, audience=Audience.VICTIM_VERIFIED, policy=policy)
    assert dict(view.released) == {}
    assert rules(view) == {"case.custody_status": FAIL_CLOSED}
    assert "RuntimeError" in caplog.text
    assert "Ramon" not in caplog.text


def test_staff_receive_structured_values_as_plain_json(policy: Policy) -> None:
    event = make_event(case=FULL_EVENT_CASE)
    view = disclose(
        event_record(event, make_subject(), make_case()),
        audience=Audience.SUPERVISOR,
        policy=policy,
    )
    assert view.released["case.related_persons"] == FULL_EVENT_CASE["related_persons"]


# --- records from raw events ---------------------------------------------------------------------


def test_payload_record_uses_the_implied_custody_of_the_case_fold() -> None:
    from voice.cases.fields import IMPLIED_STATE

    implied = {k: v["custody_status"] for k, v in IMPLIED_STATE.items() if "custody_status" in v}
    assert implied == IMPLIED_CUSTODY
    record = payload_record({"event_type": "removal.completed", "subject": {"subject_id": "S"}})
    assert record.custody_status == "removed"


def test_payload_record_carries_flags_and_unknown_fields() -> None:
    record = payload_record(
        {
            "event_type": "custody.booked",
            "subject": {"subject_id": "S", "last_name": "E", "flags": {"protected_1367": True}},
            "case": {"custody_status": "in_custody", "weird": "x"},
        }
    )
    assert record.subject_1367 is True
    assert record.subject_minor is False
    assert "case.weird" in record.fields
    assert "subject.subject_id" not in record.fields


def test_the_records_inlined_flag_key_is_the_compilers() -> None:
    import itertools

    from voice.disclosure.compiler import CUSTODY_STATES, flag_key

    for minor, p1367, hold, event_type, custody in itertools.product(
        (False, True),
        (False, True),
        (False, True),
        (None, "removal.scheduled"),
        ("in_custody", "removed", "released", "escaped", "deceased", None),
    ):
        record = Record(
            fields={},
            subject_protected=minor or p1367,
            custody_status=custody,
            event_type=event_type,
            subject_minor=minor,
            subject_1367=p1367,
            safety_hold=hold,
        )
        expected = flag_key(
            minor=minor,
            protected_1367=p1367,
            safety_hold=hold,
            removal_scheduled=event_type == "removal.scheduled",
            custody=CUSTODY_STATES.index(custody if custody in CUSTODY_STATES else "other"),
        )
        assert record.flag_key() == expected
