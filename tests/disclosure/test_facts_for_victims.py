"""Facts a verified victim needs, event type by event type, and the harm rules still holding.

Each event is run through the real filter with the shipped policy, as a notice would be.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import disclose
from voice.disclosure.policy import Policy
from voice.disclosure.records import payload_record

FACILITY = {
    "facility_name": "Example Processing Center",
    "facility_city": "Sampletown",
    "facility_state": "TX",
}


def _released(payload: dict[str, Any], policy: Policy, audience: Audience) -> set[str]:
    view = disclose(payload_record(payload), audience=audience, policy=policy)
    return set(view.released)


@pytest.mark.parametrize(
    ("event_type", "custody"),
    [
        ("custody.escaped", "escaped"),  # the facility escaped from: VINE's escape notice names it
        ("custody.released", "released"),  # the facility released from
        ("custody.transferred", "in_custody"),  # the facility transferred to
        ("custody.returned", "in_custody"),
        ("custody.booked", "in_custody"),
    ],
)
@pytest.mark.parametrize("audience", [Audience.VICTIM_VERIFIED, Audience.FAMILY, Audience.PARTNER])
def test_the_facility_is_released_on_every_custody_change(
    policy: Policy, event_type: str, custody: str, audience: Audience
) -> None:
    payload = factories.event(event_type, case={"custody_status": custody, **FACILITY})
    released = _released(payload, policy, audience)
    assert {"case.facility_name", "case.facility_city", "case.facility_state"} <= released


@pytest.mark.parametrize("custody", [None, "escaped"])
def test_an_escape_without_a_stated_status_still_names_the_facility(
    policy: Policy, custody: str | None
) -> None:
    case = {**FACILITY, **({"custody_status": custody} if custody else {})}
    payload = factories.event("custody.escaped", case=case)
    assert "case.facility_name" in _released(payload, policy, Audience.VICTIM_VERIFIED)


def test_a_verified_victim_gets_at_least_what_the_public_locator_shows(policy: Policy) -> None:
    payload = factories.booking()
    payload["case"]["custody_status"] = "in_custody"
    pending = _released(payload, policy, Audience.VICTIM_PENDING)
    verified = _released(payload, policy, Audience.VICTIM_VERIFIED)
    assert "subject.country_of_birth" in pending
    assert pending <= verified


def test_the_harm_rules_still_hold_on_a_release_and_an_escape(policy: Policy) -> None:
    for event_type, custody in (("custody.released", "released"), ("custody.escaped", "escaped")):
        payload = factories.event(
            event_type,
            case={
                "custody_status": custody,
                **FACILITY,
                "release_type": "bond",
                "release_address": "12 Example Lane",
                "transport_details": "van 4",
                "officer_name": "Officer J. Sample",
            },
            markings={
                "/case/release_address": "(U)",
                "/case/transport_details": "(U)",
                "/case/officer_name": "(U)",
            },
        )
        released = _released(payload, policy, Audience.VICTIM_VERIFIED)
        assert "case.release_type" in released
        harmful = {"case.release_address", "case.transport_details", "case.officer_name"}
        assert not harmful & released
        # The public locator shows a facility only while the person is held there.
        assert "case.facility_name" not in _released(payload, policy, Audience.VICTIM_PENDING)
        # Harm flags still withhold everything, the facility included.
        payload["subject"]["flags"] = {"minor": True}
        assert _released(payload, policy, Audience.VICTIM_VERIFIED) == set()


def test_removal_before_the_fact_stays_withheld(policy: Policy) -> None:
    payload = factories.event(
        "removal.scheduled",
        case={
            "custody_status": "in_custody",
            **FACILITY,
            "scheduled_removal_at": "2026-12-01T10:00:00Z",
            "removal_port": "Port X",
        },
    )
    assert _released(payload, policy, Audience.VICTIM_VERIFIED) == set()
