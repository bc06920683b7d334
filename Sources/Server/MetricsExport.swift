import CoreMetrics
import Hummingbird
import Metrics
import NIOCore
import Prometheus
import Telemetry
import WhisperAPICore

/// The process's Prometheus registry behind swift-metrics, set up once on first use and rendered by `GET /metrics`.
///
/// Hummingbird's `MetricsMiddleware` names its metrics after OpenTelemetry (`hb.requests`, `http.route`); they are
/// renamed here to Prometheus's conventions under the service's prefix.
public enum MetricsExport {
    /// The registry every metric of this process lands in.
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = MetricBuckets.durations
        factory.valueHistogramBuckets = MetricBuckets.values
        factory.nameAndLabelSanitizer = { name, labels in
            (renamed[name] ?? name, labels.map { (renamed[$0.0] ?? $0.0, $0.1) })
        }
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Hummingbird's metric and label names, and ours for them.
    static let renamed: [String: String] = [
        "hb.requests": MetricName.httpRequests,
        "http.server.request.duration": MetricName.httpRequestDuration,
        "hb.request.errors": MetricName.httpRequestErrors,
        "http.server.active_requests": MetricName.httpActiveRequests,
        "http.route": "route",
        "http.request.method": "method",
        "http.response.status_code": "status",
        "error.type": "status",
    ]

    /// Sets up the registry (idempotent); call before the first metric is made, so none goes to the no-op backend.
    public static func bootstrap() {
        _ = registry
    }

    /// The registry in Prometheus's text format.
    static func response() -> Response {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Reads the queue's job counts into gauges at each scrape, so that every API server reports the queue's own truth.
struct QueueGauges: Sendable {
    let queue: any TranscriptionQueue

    func refresh() async throws {
        let stats = try await queue.getQueueStats()
        let byState: [(JobState, Int)] = [
            (.waiting, stats.waiting), (.active, stats.active), (.delayed, stats.delayed), (.completed, stats.completed),
            (.failed, stats.failed), (.cancelled, stats.cancelled),
        ]
        for (state, count) in byState {
            Gauge(label: MetricName.queueJobs, dimensions: [("state", state.rawValue)]).record(count)
        }
        for plan in Plan.allCases {
            let waiting = try await queue.waitingCount(priority: plan.queuePriority)
            Gauge(label: MetricName.queueWaitingJobs, dimensions: [("plan", plan.rawValue)]).record(waiting)
        }
    }
}

extension Router {
    /// `GET /metrics`: this process's metrics, with the queue's counts read now when `queue` is given.
    func addMetricsRoute(queue: (any TranscriptionQueue)?) {
        let gauges = queue.map(QueueGauges.init)
        get("metrics") { _, context -> Response in
            do {
                try await gauges?.refresh()
            } catch {
                // The process's own metrics still answer; the queue's gauges keep their last values.
                context.logger.warning("metrics: could not read the queue's counts", metadata: ["error": "\(error)"])
            }
            return MetricsExport.response()
        }
    }
}
