"""Structured logs: one JSON object per line, with ids, and no field that could name a person."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from voice import logs


def _render(record: logging.LogRecord) -> dict[str, object]:
    rendered: dict[str, object] = json.loads(logs.formatter().format(record))
    return rendered


def test_a_stdlib_log_line_becomes_json_with_its_ids() -> None:
    record = logging.LogRecord("voice.notify", logging.INFO, __file__, 1, "sent %s", ("n-1",), None)
    token = logs.request_id.set("req-12345678")
    try:
        line = _render(record)
    finally:
        logs.request_id.reset(token)
    assert line["event"] == "sent n-1"
    assert line["level"] == "info"
    assert line["logger"] == "voice.notify"
    assert line["request_id"] == "req-12345678"


def test_fields_that_are_not_ids_are_dropped_whatever_the_caller_passes() -> None:
    event = {
        "event": "registered",
        "victim_id": 7,
        "case_id": 3,
        "email": "victim@example.invalid",
        "first_name": "Vera",
        "note": "12 Example Street",
    }
    kept = dict(logs.drop_personal_fields(None, "info", dict(event)))
    assert kept == {"event": "registered", "victim_id": 7, "case_id": 3, "dropped_fields": 3}


def test_a_configured_process_writes_json_lines_from_both_kinds_of_logger() -> None:
    program = (
        "import logging, structlog\n"
        "from voice import logs\n"
        "logs.configure()\n"
        "logging.getLogger('voice.notify').info('notification %s sent', 5)\n"
        "log = structlog.get_logger('voice.ingest')\n"
        "log.info('stored', event_id=9, email='v@example.invalid')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["logger"], line["event"]) for line in lines] == [
        ("voice.notify", "notification 5 sent"),
        ("voice.ingest", "stored"),
    ]
    assert lines[1]["event_id"] == 9
    assert "v@example.invalid" not in done.stderr
