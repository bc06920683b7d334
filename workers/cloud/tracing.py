"""The cloud worker's traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, each job is a span in the trace of the request
that queued it (the job data's W3C `traceparent`), with the download, the engine run and the result upload inside,
exported over OTLP/HTTP like the Swift processes do. Without it, the OpenTelemetry API's no-op tracer: nothing is
recorded or sent.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_provider: Any = None


def setup() -> None:
    """Installs the OTLP/HTTP exporter when the environment asks for one."""
    global _provider
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or "whisperapi-cloud-worker"
    _provider = TracerProvider(resource=Resource.create({"service.name": name}))
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(), schedule_delay_millis=2000))
    trace.set_tracer_provider(_provider)


def shutdown() -> None:
    """Sends the spans still buffered."""
    if _provider is not None:
        _provider.shutdown()


@contextlib.contextmanager
def job_span(data: dict[str, Any], job_id: str, attempt: int) -> Iterator[Any]:
    """The job's span, continuing the trace its `traceparent` names."""
    parent = TraceContextTextMapPropagator().extract({"traceparent": data["traceparent"]} if data.get("traceparent") else {})
    tracer = trace.get_tracer("whisperapi.cloud-worker")
    with tracer.start_as_current_span("transcription job", context=parent, kind=trace.SpanKind.CONSUMER) as span:
        span.set_attribute("whisperapi.job.id", job_id)
        span.set_attribute("whisperapi.job.attempt", attempt)
        span.set_attribute("whisperapi.model", str(data.get("model")))
        yield span


def step(name: str):
    """A child span of the current one (the download, the engine run, the upload)."""
    return trace.get_tracer("whisperapi.cloud-worker").start_as_current_span(name)
