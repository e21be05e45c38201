"""OpenTelemetry traces: one trace follows an event from ingest through the outbox and the
worker to the provider's adapter.

The worker runs in another process, so the ingest span's context travels with the outbox row
(its ``traceparent`` column, W3C Trace Context) and the worker's spans continue that trace.
With ``VOICE_OTLP_ENDPOINT`` set, spans are exported over OTLP/HTTP; without it, none leave
the process. Span attributes carry ids only, never personal data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from voice.config import Settings

tracer = trace.get_tracer("voice")
_propagator = TraceContextTextMapPropagator()


def configure(settings: Settings, *, service: str, extra: SpanProcessor | None = None) -> None:
    """Install the tracer provider for this process (once; later calls are ignored by the
    API). ``extra`` adds a processor, for tests that read spans from memory."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if extra is not None:
        provider.add_span_processor(extra)
    trace.set_tracer_provider(provider)


def current_traceparent() -> str | None:
    """The current span's context as a ``traceparent`` value, to store with an outbox row."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def continued(traceparent: str | None, name: str, **attributes: int | str) -> Iterator[Span]:
    """A span that continues the trace an outbox row was written in (or starts one)."""
    parent = _propagator.extract({"traceparent": traceparent}) if traceparent else None
    token = context.attach(parent) if parent is not None else None
    try:
        with tracer.start_as_current_span(name, attributes=attributes) as span:
            yield span
    finally:
        if token is not None:
            context.detach(token)
