import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Server
import Services
import Testing
import WhisperAPICore

/// A running in-process API (no workers) over fresh backends, with two customers' keys.
struct APIHarness {
    let backend: Backend
    let freeKey: String
    let proKey: String
    let directory: TemporaryDirectory

    /// Runs `body` against the API on `database`: SQLite with the embedded queue, or a fresh PostgreSQL
    /// database with the Redis queue under a key prefix of its own (the distributed set-up).
    static func run(
        database: DatabaseDriver = .sqlite,
        maxUploadBytes: Int64 = 10 * 1024 * 1024,
        environment overrides: [String: String] = [:],
        _ body: @escaping @Sendable (any TestClientProtocol, APIHarness) async throws -> Void
    ) async throws {
        try await withBackend(database: database, maxUploadBytes: maxUploadBytes, environment: overrides) { harness, logger in
            let app = buildApplication(backend: harness.backend, workers: 0, logger: logger)
            try await app.test(.router) { client in try await body(client, harness) }
        }
    }

    /// Runs `body` with fresh backends and the two customers, but no application and none of its services (no status
    /// sync), for tests of the parts below the API.
    static func withBackend(
        database: DatabaseDriver = .sqlite,
        maxUploadBytes: Int64 = 10 * 1024 * 1024,
        environment overrides: [String: String] = [:],
        _ body: @escaping @Sendable (APIHarness, Logger) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var environment = ["DATA_DIR": directory.path]
        // Plan limits out of the way unless a test sets them (the limit tests do).
        for plan in Plan.allCases {
            environment["PLAN_\(plan.rawValue)_CONCURRENT_JOBS"] = "1000"
            environment["PLAN_\(plan.rawValue)_REQUESTS_PER_MINUTE"] = "1000000"
            environment["PLAN_\(plan.rawValue)_MODELS"] = WhisperModels.accepted.joined(separator: ",")
        }
        environment.merge(overrides) { _, new in new }
        var logger = Logger(label: "api-test")
        logger.logLevel = .warning
        let scratch = database == .postgres ? try await ScratchPostgresDatabase.create(logger: logger) : nil
        if let scratch {
            environment["DATABASE_URL"] = scratch.url
            environment["REDIS_URL"] = try #require(ProcessInfo.processInfo.environment["TEST_REDIS_URL"])
            environment["QUEUE_PREFIX"] = "test-\(UUID().uuidString.prefix(8))"
        }
        var configuration = ServiceConfiguration(environment: environment)
        configuration.maxUploadBytes = maxUploadBytes
        let backend = try await Backend.open(configuration, logger: logger)
        let outcome: Result<Void, any Error>
        do {
            let admin = backend.administration
            _ = try await admin.createUser(email: "free@example.com", plan: .free, isAdmin: false)
            _ = try await admin.createUser(email: "pro@example.com", plan: .pro, isAdmin: false)
            let freeKey = try await admin.createKey(email: "free@example.com", name: nil).key
            let proKey = try await admin.createKey(email: "pro@example.com", name: nil).key
            try await body(APIHarness(backend: backend, freeKey: freeKey, proKey: proKey, directory: directory), logger)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await backend.close()
        await scratch?.drop()
        try outcome.get()
    }

    /// Files currently in local storage (partial uploads included).
    func storedFiles() -> [String] {
        let root = backend.configuration.storageDirectory
        let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
        return files.filter { path in
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory)
            return !isDirectory.boolValue
        }
    }
}

/// Builds multipart/form-data bodies.
struct Multipart {
    let boundary = "----whisperapi-test-\(UUID().uuidString)"
    var parts: [(name: String, filename: String?, data: [UInt8])] = []

    mutating func field(_ name: String, _ value: String) {
        parts.append((name, nil, Array(value.utf8)))
    }

    mutating func file(_ data: [UInt8], filename: String = "speech.wav", name: String = "file") {
        parts.append((name, filename, data))
    }

    var headers: HTTPFields { [.contentType: "multipart/form-data; boundary=\(boundary)"] }

    var body: ByteBuffer {
        var buffer = ByteBuffer()
        for part in parts {
            buffer.writeString("--\(boundary)\r\n")
            if let filename = part.filename {
                buffer.writeString("Content-Disposition: form-data; name=\"\(part.name)\"; filename=\"\(filename)\"\r\n")
                buffer.writeString("Content-Type: application/octet-stream\r\n\r\n")
            } else {
                buffer.writeString("Content-Disposition: form-data; name=\"\(part.name)\"\r\n\r\n")
            }
            buffer.writeBytes(part.data)
            buffer.writeString("\r\n")
        }
        buffer.writeString("--\(boundary)--\r\n")
        return buffer
    }
}

/// A small valid-looking WAV header followed by silence.
func wavBytes(_ samples: Int = 1600) -> [UInt8] {
    var bytes = Array("RIFF".utf8) + le32(36 + samples * 2) + Array("WAVEfmt ".utf8)
    bytes += le32(16) + [1, 0, 1, 0] + le32(16000) + le32(32000) + [2, 0, 16, 0]
    bytes += Array("data".utf8) + le32(samples * 2) + Array(repeating: 0, count: samples * 2)
    return bytes
}

func le32(_ value: Int) -> [UInt8] {
    (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) }
}

extension TestClientProtocol {
    /// Uploads `form` with a bearer key.
    func submit(_ form: Multipart, key: String?) async throws -> TestResponse {
        var headers = form.headers
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await execute(uri: "/api/v1/transcribe", method: .post, headers: headers, body: form.body)
    }

    func get(_ uri: String, key: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(key)"])
    }
}

/// The decoded JSON body of a response.
func json(_ response: TestResponse) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body))
    return object as? [String: Any] ?? [:]
}

func errorCode(_ response: TestResponse) throws -> String? {
    (try json(response)["error"] as? [String: Any])?["code"] as? String
}

func dataField(_ response: TestResponse) throws -> [String: Any] {
    try json(response)["data"] as? [String: Any] ?? [:]
}

extension Data {
    init(buffer: ByteBuffer) {
        self.init(buffer.readableBytesView)
    }
}
