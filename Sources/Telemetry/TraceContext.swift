import Instrumentation
import ServiceContextModule

/// The W3C trace context a job carries from the API to whichever worker runs it (`TranscriptionJobData.traceparent`).
///
/// Both directions go through the process's instrument: with tracing off it is a no-op, so nothing is written and
/// every job starts without a parent.
public enum TraceContext {
    /// The current task's trace context as a `traceparent` value, or nil when there is none (tracing off).
    public static func current() -> String? {
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(ServiceContext.current ?? .topLevel, into: &carrier, using: DictionaryInjector())
        return carrier["traceparent"]
    }

    /// A service context that continues the trace `traceparent` names (a top-level one when it is nil or unreadable).
    public static func context(continuing traceparent: String?) -> ServiceContext {
        var context = ServiceContext.topLevel
        guard let traceparent else { return context }
        InstrumentationSystem.instrument.extract(["traceparent": traceparent], into: &context, using: DictionaryExtractor())
        return context
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}
