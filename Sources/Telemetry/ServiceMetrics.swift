import CoreMetrics
import Foundation
import WhisperAPICore

/// The names of WhisperAPI's metrics, in Prometheus's conventions: base units in the name (`_seconds`, `_bytes`),
/// `_total` on counters, and labels with a bounded set of values (plans, models, engines, codes; never ids).
///
/// They are recorded through swift-metrics; `whisperapi serve` and `whisperapi worker` export them to Prometheus,
/// and the Python cloud worker (`workers/cloud/metrics.py`) exports the same names.
public enum MetricName {
    public static let httpRequests = "whisperapi_http_requests_total"
    public static let httpRequestDuration = "whisperapi_http_request_duration_seconds"
    public static let httpRequestErrors = "whisperapi_http_request_errors_total"
    public static let httpActiveRequests = "whisperapi_http_active_requests"
    /// Jobs in the queue by state, read from the queue at each scrape (every API server reports the same numbers).
    public static let queueJobs = "whisperapi_queue_jobs"
    /// Jobs waiting to run by plan, read from the queue at each scrape.
    public static let queueWaitingJobs = "whisperapi_queue_waiting_jobs"
    /// From enqueue to a worker taking the job, first attempts only: one observation per job, and one more when a
    /// draining worker hands it back untouched (the queue does not count that attempt).
    public static let jobWait = "whisperapi_job_wait_seconds"
    /// From a worker taking the job to its outcome, every attempt.
    public static let jobProcessing = "whisperapi_job_processing_seconds"
    /// Attempts that ended, by plan, model and outcome (`completed`, `failed`, `released`, `stopped`).
    public static let jobAttempts = "whisperapi_job_attempts_total"
    /// Attempts after the first: jobs run again after a failure, a stall or a release.
    public static let jobRetries = "whisperapi_job_retries_total"
    public static let stalledJobsRecovered = "whisperapi_queue_stalled_jobs_recovered_total"
    public static let audioSeconds = "whisperapi_engine_audio_seconds_total"
    /// Engine time over audio time per job (below 1 is faster than real time).
    public static let realTimeFactor = "whisperapi_engine_real_time_factor"
    /// Windows decoded together in one batch by the faster-whisper engine's scheduler.
    public static let batchSize = "whisperapi_engine_batch_size"
    public static let engineRestarts = "whisperapi_engine_restarts_total"
    /// Jobs this worker is running now, and how many it may run.
    public static let busySlots = "whisperapi_worker_busy_slots"
    public static let slots = "whisperapi_worker_slots"
    public static let webhookAttempts = "whisperapi_webhook_attempts_total"
    /// Requests refused by a plan limit or backpressure, by error code (429s and 503 `QUEUE_FULL`).
    public static let limitRefusals = "whisperapi_limit_refusals_total"
    public static let uploadBytes = "whisperapi_upload_bytes_total"
}

/// Histogram buckets, by metric name.
public enum MetricBuckets {
    /// Seconds, for the job histograms (a queue wait or a job can take an hour).
    public static let jobSeconds: [Double] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]
    public static let realTimeFactor: [Double] = [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5]
    public static let batchSize: [Double] = [1, 2, 4, 8, 16, 32, 64]

    /// Buckets of the duration histograms (swift-metrics `Timer`s) that differ from the default.
    public static let durations: [String: [Duration]] = [
        MetricName.jobWait: jobSeconds.map { .milliseconds(Int64($0 * 1000)) },
        MetricName.jobProcessing: jobSeconds.map { .milliseconds(Int64($0 * 1000)) },
    ]
    /// Buckets of the value histograms (aggregating swift-metrics `Recorder`s).
    public static let values: [String: [Double]] = [MetricName.realTimeFactor: realTimeFactor, MetricName.batchSize: batchSize]
}

/// Label values with a bounded set: a job's plan and model.
public enum MetricLabels {
    /// The plan whose queue priority the job carries, or `other` (a producer outside the service chose the number).
    public static func plan(priority: Int) -> String {
        Plan.allCases.first { $0.queuePriority == priority }?.rawValue ?? "other"
    }

    /// A model the service knows, or `other`.
    public static func model(_ name: String) -> String {
        WhisperModels.accepted.contains(name) ? name : "other"
    }
}

/// What workers record about jobs.
public enum JobMetrics {
    /// How an attempt ended.
    public enum Outcome: String, Sendable {
        case completed, failed, released, stopped
    }

    /// A worker took `job`: its wait on a first attempt, a retry otherwise.
    public static func started(_ job: LeasedJob, at now: Date = Date()) {
        let plan = MetricLabels.plan(priority: job.priority)
        if job.attempt <= 1, let enqueuedAt = job.enqueuedAt {
            let waited = max(0, now.timeIntervalSince(enqueuedAt))
            Timer(label: MetricName.jobWait, dimensions: [("plan", plan), ("model", MetricLabels.model(job.data.model))])
                .recordNanoseconds(Int64(waited * 1e9))
        } else if job.attempt > 1 {
            Counter(label: MetricName.jobRetries, dimensions: [("plan", plan)]).increment()
        }
    }

    /// An attempt of `job` ended after `elapsed`.
    public static func ended(_ job: LeasedJob, outcome: Outcome, after elapsed: Duration) {
        let dimensions = [("plan", MetricLabels.plan(priority: job.priority)), ("model", MetricLabels.model(job.data.model))]
        Timer(label: MetricName.jobProcessing, dimensions: dimensions).recordSeconds(elapsed.inSeconds)
        Counter(label: MetricName.jobAttempts, dimensions: dimensions + [("outcome", outcome.rawValue)]).increment()
    }

    /// The queue found jobs whose worker had stopped renewing their locks and handed them back.
    public static func recoveredStalled(_ count: Int) {
        guard count > 0 else { return }
        Counter(label: MetricName.stalledJobsRecovered).increment(by: count)
    }
}

/// What a worker records about its slots.
public enum WorkerMetrics {
    /// How many jobs the worker may run at once.
    public static func slots(_ count: Int) {
        Gauge(label: MetricName.slots).record(count)
    }

    /// How many jobs it runs now.
    public static func busy(_ count: Int) {
        Gauge(label: MetricName.busySlots).record(count)
    }
}

/// What engines record.
public enum EngineMetrics {
    /// An engine transcribed `audioSeconds` of audio in `elapsed`.
    public static func transcribed(model: String, engine: String, audioSeconds: Double, elapsed: Duration) {
        let dimensions = [("model", MetricLabels.model(model)), ("engine", engine)]
        FloatingPointCounter(label: MetricName.audioSeconds, dimensions: dimensions).increment(by: max(0, audioSeconds))
        guard audioSeconds > 0 else { return }
        Recorder(label: MetricName.realTimeFactor, dimensions: dimensions).record(elapsed.inSeconds / audioSeconds)
    }

    /// The engine decoded `windows` windows in one batch.
    public static func batch(model: String, windows: Int) {
        Recorder(label: MetricName.batchSize, dimensions: [("model", MetricLabels.model(model))]).record(windows)
    }

    /// An engine process was started again after the previous one exited.
    public static func restarted(engine: String) {
        Counter(label: MetricName.engineRestarts, dimensions: [("engine", engine)]).increment()
    }
}

/// What the API records besides its HTTP metrics.
public enum RequestMetrics {
    /// A request refused by a plan limit or by backpressure.
    public static func refused(code: String) {
        Counter(label: MetricName.limitRefusals, dimensions: [("code", code)]).increment()
    }

    /// Bytes of audio received in uploads.
    public static func uploaded(bytes: Int) {
        Counter(label: MetricName.uploadBytes).increment(by: max(0, bytes))
    }

    /// A webhook delivery attempt ended: `delivered`, `retrying` (another attempt follows) or `failed` (the last one).
    public static func webhookAttempt(outcome: String) {
        Counter(label: MetricName.webhookAttempts, dimensions: [("outcome", outcome)]).increment()
    }
}

/// Series that exist from a process's start at zero, so that dashboards and alert rules see 0 rather than no data.
public enum MetricSeries {
    /// The error codes of `whisperapi_limit_refusals_total`.
    public static let refusalCodes = ["RATE_LIMITED", "QUOTA_EXCEEDED", "TOO_MANY_CONCURRENT_JOBS", "QUEUE_FULL"]

    /// What an API server counts: refusals, upload bytes, webhook attempts.
    public static func registerAPI() {
        for code in refusalCodes { _ = Counter(label: MetricName.limitRefusals, dimensions: [("code", code)]) }
        _ = Counter(label: MetricName.uploadBytes)
        for outcome in ["delivered", "retrying", "failed"] { _ = Counter(label: MetricName.webhookAttempts, dimensions: [("outcome", outcome)]) }
    }

    /// What a worker counts: retries by plan, stalled jobs recovered, engine restarts.
    public static func registerWorker(engine: String) {
        for plan in Plan.allCases { _ = Counter(label: MetricName.jobRetries, dimensions: [("plan", plan.rawValue)]) }
        _ = Counter(label: MetricName.stalledJobsRecovered)
        _ = Counter(label: MetricName.engineRestarts, dimensions: [("engine", engine)])
    }
}
