"""Staff messages leave only through the outbound scan's gate, then like any notice."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests.factories import booking, case_of, victim_with_link
from voice import cli
from voice.audit.models import DisclosureRecord
from voice.config import Settings
from voice.database import transaction
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event
from voice.messages import delivery as staff_messages
from voice.messages import gate as messages
from voice.messages.models import StaffMessage
from voice.notify.adapters.memory import MemoryEmailSender, MemorySmsSender
from voice.notify.tasks import WorkerContext

SSN_TEXT = "Please confirm the SSN 123-45-6789 we hold for you."


def _context(engine: Engine, settings: Settings, policy: Policy) -> WorkerContext:
    return WorkerContext(
        engine=engine,
        settings=settings,
        policy=policy,
        email=MemoryEmailSender(),
        sms=MemorySmsSender(),
        worker_id="w-staff",
    )


def _link(engine: Engine, policy: Policy, **kwargs: object) -> int:
    with transaction(engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        _, link, _ = victim_with_link(session, case_of(session), **kwargs)  # type: ignore[arg-type]
        assert link.id is not None
        return link.id


def _submit(engine: Engine, link_id: int, body: str, channel: str = "email") -> int:
    with transaction(engine) as session:
        message = messages.submit(
            session=session, link_id=link_id, body=body, author="liaison-1", channel=channel
        )
        assert message.id is not None
        return message.id


def _status(engine: Engine, message_id: int) -> str:
    with Session(engine) as session:
        return session.get_one(StaffMessage, message_id).status


def test_a_clean_message_is_sent_once_and_accounted_for(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    ctx = _context(committed_engine, settings, policy)
    message_id = _submit(committed_engine, _link(committed_engine, policy), "Your hearing moved.")
    assert staff_messages.run_once(ctx) == 1
    assert staff_messages.run_once(ctx) == 0
    assert _status(committed_engine, message_id) == "sent"
    assert isinstance(ctx.email, MemoryEmailSender)
    (sent,) = ctx.email.outbox.values()
    assert sent.reference == f"m-{message_id:08d}"
    assert "Your hearing moved." in sent.text
    with Session(committed_engine) as session:
        (record,) = session.exec(select(DisclosureRecord)).all()
    assert (record.purpose, record.channel) == ("staff_message", "email")
    assert record.fields_released == [staff_messages.RELEASED_FIELD]
    assert "hearing" not in json.dumps(record.model_dump(mode="json"))


def test_a_message_with_findings_waits_for_a_supervisor(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    ctx = _context(committed_engine, settings, policy)
    link_id = _link(
        committed_engine,
        policy,
        email=None,
        phone="+15550100001",
        notify_email=False,
        notify_sms=True,
    )
    message_id = _submit(committed_engine, link_id, SSN_TEXT, channel="sms")
    assert _status(committed_engine, message_id) == "held"
    assert staff_messages.run_once(ctx) == 0
    assert isinstance(ctx.sms, MemorySmsSender)
    assert ctx.sms.outbox == {}

    with transaction(committed_engine) as session:
        messages.approve(session=session, message_id=message_id, supervisor="supervisor-2")
    assert staff_messages.run_once(ctx) == 1
    assert _status(committed_engine, message_id) == "sent"
    assert [m.body for m in ctx.sms.outbox.values()] == [SSN_TEXT]


def test_a_rejected_message_never_leaves(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    ctx = _context(committed_engine, settings, policy)
    message_id = _submit(committed_engine, _link(committed_engine, policy), SSN_TEXT)
    with transaction(committed_engine) as session:
        messages.reject(session=session, message_id=message_id, supervisor="supervisor-2")
    assert staff_messages.run_once(ctx) == 0
    assert _status(committed_engine, message_id) == "rejected"


def test_the_gate_is_checked_again_at_send_time(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    ctx = _context(committed_engine, settings, policy)
    message_id = _submit(committed_engine, _link(committed_engine, policy), SSN_TEXT)
    # A row pushed past review behind the service's back still does not go out.
    with transaction(committed_engine) as session:
        session.execute(
            sa.update(StaffMessage).where(col(StaffMessage.id) == message_id).values(status="ready")
        )
    assert staff_messages.run_once(ctx) == 1
    assert _status(committed_engine, message_id) == "failed"
    assert isinstance(ctx.email, MemoryEmailSender)
    assert ctx.email.outbox == {}


def test_no_message_to_an_unverified_contact_point(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    ctx = _context(committed_engine, settings, policy)
    message_id = _submit(committed_engine, _link(committed_engine, policy), "Hi.", channel="sms")
    assert staff_messages.run_once(ctx) == 1
    assert _status(committed_engine, message_id) == "failed"


@pytest.mark.usefixtures("voice_env")
def test_cli_submit_review_and_list_never_print_the_text(
    committed_engine: Engine, capsys: pytest.CaptureFixture[str], policy: Policy
) -> None:
    link_id = _link(committed_engine, policy)
    args = ["message", "submit", "--link-id", str(link_id), "--by", "liaison-1", "--body", SSN_TEXT]
    assert cli.main(args) == 0
    submitted = json.loads(capsys.readouterr().out)
    assert (submitted["status"], submitted["findings"]) == ("held", ["ssn"])
    with pytest.raises(SystemExit, match="supervisor other than its author"):
        cli.main(["message", "approve", "--id", str(submitted["id"]), "--by", "liaison-1"])
    assert cli.main(["message", "approve", "--id", str(submitted["id"]), "--by", "sup-2"]) == 0
    assert cli.main(["message", "list", "--status", "approved"]) == 0
    out = capsys.readouterr().out
    assert '"status": "approved"' in out
    assert "123-45-6789" not in out
