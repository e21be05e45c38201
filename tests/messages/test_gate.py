"""The outbound scan of staff-written messages, and the supervisor's gate it feeds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from tests.factories import booking, case_of, victim_with_link
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event
from voice.messages import gate as messages
from voice.messages.scan import scan

NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("His SSN is 123-45-6789.", ["ssn"]),
        ("SSN 123456789 on file", ["ssn"]),
        ("A-number A200100101.", ["a_number"]),
        ("A 123 456 789", ["a_number"]),
        ("a#123456789", ["a_number"]),
        ("Call 555-010-0100.", ["phone"]),
        ("Call (555) 010-0100 or +1 555 010 0100", ["phone", "phone"]),
        ("Write to x.y+z@example.org", ["email"]),
        ("DOB 04/12/1988", ["date_of_birth"]),
        ("born on April 12, 1988", ["date_of_birth"]),
        ("12 April 1988", ["date_of_birth"]),
        ("birthday: 2019-02-03", ["date_of_birth"]),
        ("He lives at 12 Example Street, Sampletown", ["street_address"]),
        ("Write to P.O. Box 42", ["street_address"]),
        ("1600 Pennsylvania Ave NW", ["street_address"]),
        ("(U//LES) Moved to a new facility.", ["portion_mark"]),
        ("Update.\n(CUI) Transport at dawn.", ["portion_mark"]),
        ("(U) Nothing more.", ["portion_mark"]),
    ],
)
def test_each_kind_is_found(text: str, kinds: list[str]) -> None:
    assert [f.kind for f in scan(text, now=NOW)] == kinds


@pytest.mark.parametrize(
    "text",
    [
        "Your case was updated. Call the VOICE office if you have questions.",
        "The hearing is on 2026-12-01 at the Sampletown Immigration Court.",
        "See you on 12/01/2026 (please bring your letter).",
        "Case CASE-2026-000101 is now closed; reference 2026-11.",
        "We have 3 updates for you.",
    ],
)
def test_ordinary_messages_pass(text: str) -> None:
    assert scan(text, now=NOW) == []


def test_findings_hold_positions_not_text() -> None:
    text = "Reach him at 555-010-0100."
    (finding,) = scan(text, now=NOW)
    assert text[finding.start : finding.end] == "555-010-0100"
    assert finding.as_dict() == {"kind": "phone", "start": 13, "end": 25}


def test_contained_numbers_are_one_finding_but_marks_keep_their_content() -> None:
    assert [f.kind for f in scan("A200100101", now=NOW)] == ["a_number"]
    kinds = [f.kind for f in scan("(U//LES) SSN 123-45-6789", now=NOW)]
    assert kinds == ["portion_mark", "ssn"]


def _link_id(session: Session, policy: Policy) -> int:
    ingest_event(session=session, candidate=booking(), policy=policy)
    _, link, _ = victim_with_link(session, case_of(session))
    assert link.id is not None
    return link.id


def test_a_clean_message_is_ready(session: Session, policy: Policy) -> None:
    message = messages.submit(
        session=session,
        link_id=_link_id(session, policy),
        body="Your case was updated.",
        author="liaison-7",
    )
    assert message.status == messages.MessageStatus.READY
    assert messages.ready_to_send(message)


def test_a_finding_holds_the_message_until_another_supervisor_approves(
    session: Session, policy: Policy, caplog: pytest.LogCaptureFixture
) -> None:
    link_id = _link_id(session, policy)
    body = "He was released to 12 Example Street; call 555-010-0100."
    with caplog.at_level("INFO"):
        message = messages.submit(session=session, link_id=link_id, body=body, author="liaison-7")
    assert message.status == messages.MessageStatus.HELD
    assert not messages.ready_to_send(message)
    assert {f["kind"] for f in message.findings} == {"street_address", "phone"}
    assert "Example Street" not in caplog.text
    assert "555-010" not in caplog.text
    assert message.id is not None
    with pytest.raises(messages.ReviewError, match="other than its author"):
        messages.approve(session=session, message_id=message.id, supervisor="liaison-7")
    approved = messages.approve(
        session=session, message_id=message.id, supervisor="supervisor-2", note="victim asked"
    )
    assert approved.status == messages.MessageStatus.APPROVED
    assert messages.ready_to_send(approved)
    with pytest.raises(messages.ReviewError, match="not held"):
        messages.reject(session=session, message_id=message.id, supervisor="supervisor-2")


def test_a_rejected_message_never_becomes_sendable(session: Session, policy: Policy) -> None:
    message = messages.submit(
        session=session,
        link_id=_link_id(session, policy),
        body="(U//LES) detail",
        author="liaison-7",
    )
    assert message.id is not None
    rejected = messages.reject(session=session, message_id=message.id, supervisor="sup-1")
    assert not messages.ready_to_send(rejected)


def test_submit_refuses_unknown_links_and_empty_messages(session: Session, policy: Policy) -> None:
    with pytest.raises(messages.ReviewError, match="no link"):
        messages.submit(session=session, link_id=999_999, body="x", author="a")
    with pytest.raises(messages.ReviewError, match="body and an author"):
        messages.submit(session=session, link_id=_link_id(session, policy), body=" ", author="a")
