"""Structured JSON logs: one object per line, with the request's and the trace's ids.

Every ``logging`` call in the service goes through structlog's formatter, so existing log
lines come out as JSON too. Invariant 3 says logs carry ids, never personal data, so the last
processor keeps only fields whose names say they are ids, counts, codes or timings (an
allow-list), and drops every other field: a name, an address or a note passed as a keyword can
never reach the output, whatever the caller wrote.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog
from opentelemetry import trace

request_id: ContextVar[str | None] = ContextVar("voice_request_id", default=None)

# Fields a log line may carry besides its message. Anything else is dropped.
ALLOWED = frozenset(
    {
        "event",
        "level",
        "logger",
        "timestamp",
        "request_id",
        "trace_id",
        "span_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "exception",
        "worker_id",
        "channel",
        "count",
        "attempts",
        "code",
        "rule_id",
        "policy_version",
    }
)
# Any field named like an id (event_id, case_id, notification_id, ...) is allowed too.
_ID_FIELD = re.compile(r"^[a-z_]*_id$")


def drop_personal_fields(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Keep allowed and id-named fields only; say how many others were dropped."""
    dropped = [key for key in event_dict if key not in ALLOWED and not _ID_FIELD.match(key)]
    for key in dropped:
        del event_dict[key]
    if dropped:
        event_dict["dropped_fields"] = len(dropped)
    return event_dict


def add_context_ids(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The request's id, and the current trace and span, when there are any."""
    rid = request_id.get()
    if rid is not None:
        event_dict.setdefault("request_id", rid)
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event_dict.setdefault("trace_id", format(span.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span.span_id, "016x"))
    return event_dict


def processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_context_ids,
        structlog.processors.format_exc_info,
        drop_personal_fields,
    ]


def formatter() -> structlog.stdlib.ProcessorFormatter:
    """Renders every stdlib log record as one JSON object."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=processors()[:-1],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            drop_personal_fields,
            structlog.processors.JSONRenderer(),
        ],
    )


def configure(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the whole process: the CLI, the API and the worker."""
    structlog.configure(
        processors=[*processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    if root.handlers:
        # Someone configured logging already (a test runner capturing logs, an embedding
        # program): as logging.basicConfig does, leave their handlers alone.
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    root.addHandler(handler)
    root.setLevel(level)
