import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Tracing with swift-otel, on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set:
/// spans go to that OTLP/HTTP collector in batches. Off by default; then the process's tracer is the no-op one and
/// no tracing middleware is installed. The other `OTEL_*` settings (service name, sampler, headers, protocol) are
/// read by swift-otel as the OpenTelemetry specification names them.
public enum TracingSetup {
    /// Whether the environment turns tracing on.
    public static func isEnabled(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].contains { !(environment[$0] ?? "").isEmpty }
    }

    /// Sets up the process's tracer once, when tracing is on, and returns the service that exports its spans (run it
    /// first in the service group, so that it flushes last); nil when tracing is off.
    public static func bootstrap(serviceName: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (any Service)? {
        guard isEnabled(environment) else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.logs.enabled = false  // logs: LOG_FORMAT; metrics: Prometheus
        configuration.metrics.enabled = false
        configuration.diagnosticLogLevel = .warning
        configuration.traces.batchSpanProcessor.scheduleDelay = .seconds(2)
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        return backend.service
    }
}
