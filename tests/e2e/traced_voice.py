"""``voice`` with its spans kept in memory and written to a JSON file when it exits, so a test
can follow one trace across the ingest process and the worker process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from voice import cli, tracing
from voice.config import get_settings


def main(spans_file: Path, argv: list[str]) -> int:
    exporter = InMemorySpanExporter()
    tracing.configure(get_settings(), service="voice-test", extra=SimpleSpanProcessor(exporter))
    # voice serve and voice worker configure tracing themselves; here it is already in place.
    tracing.configure = lambda *args, **kwargs: None
    status = cli.main(argv)
    spans = [
        {
            "name": span.name,
            "trace_id": format(span.context.trace_id, "032x"),
            "span_id": format(span.context.span_id, "016x"),
            "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
            "attributes": dict(span.attributes or {}),
        }
        for span in exporter.get_finished_spans()
    ]
    spans_file.write_text(json.dumps(spans), encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
