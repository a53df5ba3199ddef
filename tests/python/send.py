"""Export one span, one counter and one log record with the real OpenTelemetry Python SDK.

    send.py NAME

The span is called NAME, the counter NAME.count (attribute sluice.test=NAME) and the log
record's body is "log NAME". Where and how to send is configured only through the standard
environment variables, as seed 001 tells applications to do:

    OTEL_EXPORTER_OTLP_PROTOCOL      grpc | http/protobuf
    OTEL_EXPORTER_OTLP_ENDPOINT      https://127.0.0.1:4317 (gRPC) or https://127.0.0.1:4318 (HTTP)
    OTEL_EXPORTER_OTLP_CERTIFICATE   CA bundle that verifies the server
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE / OTEL_EXPORTER_OTLP_CLIENT_KEY   mTLS
    OTEL_EXPORTER_OTLP_HEADERS       Authorization=Basic%20<base64>
    OTEL_SERVICE_NAME                resource attribute service.name

Everything is flushed before exiting. Exits 1 if any signal failed to export (or was never
exported), printing what happened on stderr; 2 on bad usage.
"""

import logging
import os
import sys

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

# Export results per signal, filled by the exporters below.
results = {"traces": [], "metrics": [], "logs": []}


def exporter_classes(protocol):
    """The SDK's own OTLP exporters for the protocol named by OTEL_EXPORTER_OTLP_PROTOCOL."""
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    elif protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    else:
        sys.exit(f"send.py: OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: use grpc or http/protobuf")
    return OTLPSpanExporter, OTLPMetricExporter, OTLPLogExporter


def recording(signal, base):
    """A subclass of the SDK exporter `base` that records each export's result."""

    class Recording(base):
        def export(self, *args, **kwargs):
            result = super().export(*args, **kwargs)
            results[signal].append(result)
            return result

    return Recording


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    name = sys.argv[1]
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    span_exporter, metric_exporter, log_exporter = exporter_classes(protocol)
    resource = Resource.create()  # service.name from OTEL_SERVICE_NAME

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(recording("traces", span_exporter)()))
    with tracer_provider.get_tracer("sluice.interop").start_as_current_span(name) as span:
        span.set_attribute("sluice.test", name)

    reader = PeriodicExportingMetricReader(
        recording("metrics", metric_exporter)(), export_interval_millis=3_600_000
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    counter = meter_provider.get_meter("sluice.interop").create_counter(f"{name}.count")
    counter.add(7, {"sluice.test": name})
    meter_provider.force_flush()

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(recording("logs", log_exporter)())
    )
    logger = logging.getLogger("sluice.interop")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))
    logger.warning("log %s", name)
    logger_provider.force_flush()

    tracer_provider.shutdown()
    meter_provider.shutdown()
    logger_provider.shutdown()

    # Results are SpanExportResult / MetricExportResult / LogRecordExportResult (the last one's
    # module moved between SDK versions): compare by name.
    failed = False
    for signal, outcomes in results.items():
        names = [getattr(o, "name", repr(o)) for o in outcomes]
        print(f"send.py: {signal}: {names}", file=sys.stderr)
        if not names or any(n != "SUCCESS" for n in names):
            failed = True
    if failed:
        print(f"send.py: export failed ({protocol})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
