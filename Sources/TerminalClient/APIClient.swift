import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The terminal client's view of the WhisperAPI REST API (bearer-key auth).
public struct APIClient: Sendable {
    public let settings: ClientSettings
    let http: HTTPClient

    public init(settings: ClientSettings, http: HTTPClient = .shared) {
        self.settings = settings
        self.http = http
    }

    func request(_ method: HTTPMethod, _ path: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: settings.server + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(settings.key)")
        request.headers.add(name: "User-Agent", value: "whisperapi-cli")
        return request
    }

    func execute(_ request: HTTPClientRequest, timeout: TimeAmount = .seconds(60)) async throws -> HTTPClientResponse {
        do {
            return try await http.execute(request, timeout: timeout)
        } catch {
            throw ClientError.unreachable(settings.server)
        }
    }

    /// Sends a request and returns the body; an error answer becomes `ClientError.api`.
    public func send(_ method: HTTPMethod, _ path: String, json: Data? = nil) async throws -> Data {
        var request = request(method, path)
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        let response = try await execute(request)
        let body = Data(buffer: try await response.body.collect(upTo: 64 * 1024 * 1024))
        try Self.check(response.status, body: body)
        return body
    }

    /// The `data` of a JSON envelope answer.
    public func data(_ method: HTTPMethod, _ path: String) async throws -> [String: Any] {
        let body = try await send(method, path)
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return [:] }
        return object["data"] as? [String: Any] ?? object
    }

    static func check(_ status: HTTPResponseStatus, body: Data) throws {
        guard status.code >= 400 else { return }
        let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        let error = object?["error"] as? [String: Any]
        throw ClientError.api(
            status: Int(status.code), code: error?["code"] as? String ?? "HTTP_\(status.code)",
            message: error?["message"] as? String ?? status.reasonPhrase)
    }

    /// Uploads a file as a new transcription (a streamed multipart body); `progress(sent, total)` follows the bytes.
    /// Returns the transcription's id.
    public func submit(
        file: URL, fields: [String: String], progress: @escaping @Sendable (Int64, Int64) -> Void
    ) async throws -> String {
        let body = try MultipartFileBody(file: file, fields: fields, progress: progress)
        var request = request(.POST, "/api/v1/transcribe")
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(body.boundary)")
        request.body = .stream(body, length: .known(body.length))
        let response = try await execute(request, timeout: .hours(2))
        let answer = Data(buffer: try await response.body.collect(upTo: 1024 * 1024))
        try Self.check(response.status, body: answer)
        guard let object = try? JSONSerialization.jsonObject(with: answer) as? [String: Any],
              let data = object["data"] as? [String: Any], let id = data["transcriptionId"] as? String
        else { throw ClientError.api(status: Int(response.status.code), code: "BAD_ANSWER", message: "the server's answer has no transcriptionId") }
        return id
    }

    /// The user's event stream, from `lastEventId` when resuming.
    public func events(lastEventId: String?) async throws -> ServerSentEventStream {
        var request = request(.GET, "/api/v1/events")
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let lastEventId { request.headers.add(name: "Last-Event-ID", value: lastEventId) }
        let response = try await execute(request, timeout: .hours(24))
        if response.status.code >= 400 {
            try Self.check(response.status, body: Data(buffer: try await response.body.collect(upTo: 1024 * 1024)))
        }
        return ServerSentEventStream(body: response.body)
    }
}

/// A multipart/form-data body of some fields and one file, read from disk as the upload goes.
struct MultipartFileBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let boundary: String
    let preamble: [UInt8]
    let epilogue: [UInt8]
    let path: String
    let fileSize: Int64
    let progress: @Sendable (Int64, Int64) -> Void

    var length: Int64 { Int64(preamble.count) + fileSize + Int64(epilogue.count) }

    init(file: URL, fields: [String: String], progress: @escaping @Sendable (Int64, Int64) -> Void) throws {
        boundary = "whisperapi-\(UUID().uuidString)"
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        fileSize = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        path = file.path
        let safeName = file.lastPathComponent.replacingOccurrences(of: "\"", with: "'")
            .replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        var text = ""
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(safeName)\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        preamble = Array(text.utf8)
        epilogue = Array("\r\n--\(boundary)--\r\n".utf8)
        self.progress = progress
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let body: MultipartFileBody
        var stage = 0
        var handle: FileHandle?
        var sent: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            switch stage {
            case 0:
                stage = 1
                handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: body.path))
                return ByteBuffer(bytes: body.preamble)
            case 1:
                if let data = try handle?.read(upToCount: 256 * 1024), !data.isEmpty {
                    sent += Int64(data.count)
                    body.progress(sent, body.fileSize)
                    return ByteBuffer(bytes: data)
                }
                try? handle?.close()
                handle = nil
                stage = 2
                return ByteBuffer(bytes: body.epilogue)
            default:
                return nil
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(body: self)
    }
}

/// Server-Sent Events parsed from a response body: each event's id, name and data.
public struct ServerSentEventStream: AsyncSequence, Sendable {
    public typealias Element = Event

    /// One event: its id (the last one sent, as the stream's rules say), name and data lines joined.
    public struct Event: Sendable, Equatable {
        public var id: String?
        public var name: String
        public var data: String

        public init(id: String?, name: String, data: String) {
            self.id = id
            self.name = name
            self.data = data
        }
    }

    let body: HTTPClientResponse.Body

    public struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: HTTPClientResponse.Body.AsyncIterator
        var parser = ServerSentEventParser()
        var ready: [Event] = []

        public mutating func next() async throws -> Event? {
            while ready.isEmpty {
                guard let chunk = try await chunks.next() else { return nil }
                ready = parser.feed(String(buffer: chunk))
            }
            return ready.removeFirst()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: body.makeAsyncIterator())
    }
}

/// Turns the text of an event stream, in pieces as they arrive, into events.
public struct ServerSentEventParser: Sendable {
    var pending = ""
    var id: String?
    var name: String?
    var data: [String] = []

    public init() {}

    /// Takes more text; returns the events it completed.
    public mutating func feed(_ text: String) -> [ServerSentEventStream.Event] {
        pending += text.replacingOccurrences(of: "\r\n", with: "\n")
        var events: [ServerSentEventStream.Event] = []
        while let newline = pending.firstIndex(of: "\n") {
            let line = String(pending[..<newline])
            pending = String(pending[pending.index(after: newline)...])
            if line.isEmpty {
                if !data.isEmpty { events.append(.init(id: id, name: name ?? "message", data: data.joined(separator: "\n"))) }
                name = nil
                data = []
                continue
            }
            if line.hasPrefix(":") { continue }
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let field = String(parts[0])
            var value = parts.count > 1 ? String(parts[1]) : ""
            if value.hasPrefix(" ") { value.removeFirst() }
            switch field {
            case "id": id = value
            case "event": name = value
            case "data": data.append(value)
            default: break
            }
        }
        return events
    }
}
