"""One trace across the platform: OpenTelemetry spans for every request,
consumed record and delivery attempt, and the W3C `traceparent` carried in
every event a service makes (through the contracts' trace hook) and in a
school's webhook.

`configure` sets the process's tracer provider once, named for the service;
spans leave the process only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the
OTLP/HTTP exporter reads its settings from the standard `OTEL_*` variables),
so nothing phones home by default. A test installs its own provider (an
in-memory exporter) first, and `configure` keeps it. Span attributes are
ids, topics and codes, never personal data."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from frontdoor_contracts.envelope import use_trace_context

PROPAGATOR = TraceContextTextMapPropagator()
SERVICE_ATTRIBUTE = "frontdoor.service"
_tracer = trace.get_tracer("frontdoor")


def configure(service: str) -> None:
    """The process's tracer provider (unless one is set already) and the contracts' trace hook."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": f"frontdoor-{service}"}))
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    use_trace_context(traceparent_now)


def context_of(traceparent: str | None) -> Context | None:
    """The remote parent a W3C traceparent names (None: a new trace)."""
    return PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else None


def traceparent_now() -> str | None:
    """The current span as a W3C traceparent (None outside any span)."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


@contextlib.contextmanager
def span(name: str, service: str, *, parent: str | None = None, kind: SpanKind = SpanKind.INTERNAL,
         attributes: Mapping[str, str | int | bool] | None = None) -> Iterator[Span]:
    """A span under `parent` (a traceparent), current inside the block; an exception is recorded on it."""
    with _tracer.start_as_current_span(name, context=context_of(parent), kind=kind,
                                       attributes={SERVICE_ATTRIBUTE: service, **(attributes or {})}) as current:
        yield current


def trace_id_now() -> str | None:
    """The current span's trace id, as hex (None outside any span)."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
