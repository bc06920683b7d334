import Foundation
import Logging
import NIOConcurrencyHelpers

/// `LOG_FORMAT=json`: one JSON object per line on standard error, with `timestamp` (ISO 8601, UTC), `level`, `label`,
/// `message` and the metadata (`requestId`, `jobId`, `userId` where the code knows them) as top-level fields.
///
/// Nothing the service logs carries a key, a secret or a presigned URL; this handler adds nothing but the time.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let output: JSONLineOutput

    public init(label: String, level: Logger.Level, output: JSONLineOutput = .standardError) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            fields[key] = Self.text(value)
        }
        fields["timestamp"] = Self.timestamp.format(Date())
        fields["level"] = event.level.rawValue
        fields["label"] = label
        fields["message"] = event.message.description
        output.write(fields)
    }

    static let timestamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// A metadata value as one string (lists and dictionaries in their usual description).
    static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        default: value.description
        }
    }
}

/// Where JSON log lines go: written whole, one at a time.
public final class JSONLineOutput: Sendable {
    private let handle: FileHandle
    private let lock = NIOLock()

    public init(handle: FileHandle) {
        self.handle = handle
    }

    public static let standardError = JSONLineOutput(handle: .standardError)

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    func write(_ fields: [String: String]) {
        guard var line = try? Self.encoder.encode(fields) else { return }
        line.append(0x0A)
        lock.withLock { handle.write(line) }
    }
}

/// The process's logging: `LOG_FORMAT=json` for JSON lines, else swift-log's text lines; `LOG_LEVEL` (default info).
public enum LogSetup {
    /// Sets up logging once for the process, from the environment.
    public static func bootstrap(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let level = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        if environment["LOG_FORMAT"]?.lowercased() == "json" {
            LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    /// Whether logs are JSON lines (then nothing else should be printed in between).
    public static func isJSON(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        environment["LOG_FORMAT"]?.lowercased() == "json"
    }
}
