import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import WhisperAPICore

/// Where an S3-compatible store is and how to sign for it: the configured settings (`S3_*`, read as its fields) and
/// the upload part size.
@dynamicMemberLookup
public struct S3Configuration: Sendable {
    public var settings: ObjectStoreSettings
    /// Objects larger than this are sent as a multipart upload of parts this size (S3's minimum is 5 MiB).
    public var partSize: Int

    /// The configured bucket (`ServiceConfiguration.objectStore`, validated at start).
    public init(_ settings: ObjectStoreSettings, partSize: Int = 8 * 1024 * 1024) {
        self.settings = settings
        self.partSize = max(5 * 1024 * 1024, partSize)
    }

    public init(
        bucket: String, region: String = "us-east-1", endpoint: String? = nil, accessKeyId: String, secretAccessKey: String,
        forcePathStyle: Bool = false, partSize: Int = 8 * 1024 * 1024
    ) {
        self.init(
            ObjectStoreSettings(
                bucket: bucket, region: region, endpoint: endpoint, accessKeyId: accessKeyId, secretAccessKey: secretAccessKey,
                forcePathStyle: forcePathStyle),
            partSize: partSize)
    }

    public subscript<Value>(dynamicMember path: KeyPath<ObjectStoreSettings, Value>) -> Value {
        settings[keyPath: path]
    }

    /// The parts of an endpoint URL: http or https, with a host; nil otherwise.
    static func components(of endpoint: String) -> URLComponents? {
        guard let components = URLComponents(string: endpoint), let scheme = components.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty
        else { return nil }
        return components
    }

    /// The URL of an object (or of the bucket, for an empty key).
    func url(for key: String) throws -> URL {
        let endpoint = settings.endpoint ?? "https://s3.\(settings.region).amazonaws.com"
        guard var components = Self.components(of: endpoint) else {
            throw S3Error(status: 0, code: "CONFIGURATION", message: "the S3 endpoint '\(endpoint)' is not an http(s) URL")
        }
        let objectPath = "/" + SigV4Signer.encode(key, keepSlash: true)
        if settings.forcePathStyle {
            components.percentEncodedPath = "/" + SigV4Signer.encode(settings.bucket) + (key.isEmpty ? "" : objectPath)
        } else {
            components.host = "\(settings.bucket).\(components.host ?? "")"
            components.percentEncodedPath = key.isEmpty ? "/" : objectPath
        }
        guard let url = components.url else {
            throw S3Error(status: 0, code: "CONFIGURATION", message: "no URL can be made for bucket '\(settings.bucket)' at '\(endpoint)'")
        }
        return url
    }
}

/// An error answer from the store.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    public let status: Int
    public let code: String
    public let message: String
    public var description: String { "S3 \(status) \(code): \(message)" }
}

/// Object storage in an S3-compatible bucket, signed with SigV4.
///
/// Uploads stream: small objects go up in one PUT, larger ones as a multipart upload, so no more
/// than one part is held in memory. Downloads stream to a temporary file.
public struct S3ObjectStorage: ObjectStorage {
    public let configuration: S3Configuration
    let signer: SigV4Signer
    let http: HTTPClient

    /// The process's client for object stores: a store that refuses connections fails the request at once
    /// (the API answers 503) instead of being retried until the request's long deadline.
    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(configuration: S3Configuration, http: HTTPClient = S3ObjectStorage.client) {
        self.configuration = configuration
        self.signer = SigV4Signer(
            accessKeyId: configuration.accessKeyId, secretAccessKey: configuration.secretAccessKey, region: configuration.region)
        self.http = http
    }

    public func makeWriter(key: String) async throws -> any ObjectWriter {
        S3ObjectWriter(storage: self, key: key)
    }

    public func read(key: String) async throws -> Data? {
        let response = try await send("GET", key: key)
        if response.status == .notFound { return nil }
        let body = try await response.body.collect(upTo: 256 * 1024 * 1024)
        try Self.check(response.status, body: body)
        return Data(buffer: body)
    }

    public func read(key: String, offset: Int64, length: Int64) async throws -> Data? {
        guard length > 0 else { return Data() }
        let response = try await send("GET", key: key, range: "bytes=\(offset)-\(offset + length - 1)")
        if response.status == .notFound { return nil }
        // Past the end: nothing to read.
        if response.status.code == 416 { return Data() }
        let body = try await response.body.collect(upTo: Int(length) + 1024)
        try Self.check(response.status, body: body)
        return Data(buffer: body)
    }

    public func write(key: String, data: Data) async throws {
        try await put(key: key, body: ByteBuffer(data: data))
    }

    public func localFile(for key: String) async throws -> LocalObjectFile {
        let response = try await send("GET", key: key)
        if response.status == .notFound { throw ObjectNotFound(key: key) }
        guard response.status == .ok else {
            try Self.check(response.status, body: try await response.body.collect(upTo: 1024 * 1024))
            throw S3Error(status: Int(response.status.code), code: "UNEXPECTED", message: "GET \(key)")
        }
        let path = NSTemporaryDirectory() + "whisperapi-s3-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            for try await chunk in response.body {
                try handle.write(contentsOf: chunk.readableBytesView)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        return LocalObjectFile(path: path, isTemporary: true)
    }

    public func delete(key: String) async throws {
        let response = try await send("DELETE", key: key)
        if response.status == .notFound { return }
        try Self.check(response.status, body: try await response.body.collect(upTo: 1024 * 1024))
    }

    public func downloadURL(key: String, expiresIn seconds: Int) async throws -> URL? {
        try signer.presignedURL(url: configuration.url(for: key), expires: seconds)
    }

    /// Creates the bucket when it does not exist yet (for development stores; production buckets are usually provisioned).
    public func createBucketIfMissing() async throws {
        let head = try await send("HEAD", key: "")
        guard head.status == .notFound else { return try Self.check(head.status, body: ByteBuffer()) }
        let region = configuration.region
        let location = region == "us-east-1" ? ""
            : "<CreateBucketConfiguration><LocationConstraint>\(region)</LocationConstraint></CreateBucketConfiguration>"
        _ = try await sendChecked("PUT", key: "", body: ByteBuffer(string: location))
    }

    // MARK: - Requests

    func put(key: String, query: [(String, String)] = [], body: ByteBuffer) async throws -> HTTPClientResponse {
        try await sendChecked("PUT", key: key, query: query, body: body).response
    }

    /// Sends a request whose answer is small (a status and maybe an XML document) and throws the store's
    /// error when it is not a success.
    func sendChecked(
        _ method: String, key: String, query: [(String, String)] = [], body: ByteBuffer? = nil
    ) async throws -> (response: HTTPClientResponse, body: ByteBuffer) {
        let response = try await send(method, key: key, query: query, body: body)
        let answer = try await response.body.collect(upTo: 1024 * 1024)
        try Self.check(response.status, body: answer)
        return (response, answer)
    }

    /// Sends one signed request. Bodies are signed as UNSIGNED-PAYLOAD (TLS protects them on the way).
    func send(
        _ method: String, key: String, query: [(String, String)] = [], body: ByteBuffer? = nil, range: String? = nil
    ) async throws -> HTTPClientResponse {
        guard var components = URLComponents(url: try configuration.url(for: key), resolvingAgainstBaseURL: false) else {
            throw S3Error(status: 0, code: "CONFIGURATION", message: "bad object URL for \(key)")
        }
        if !query.isEmpty {
            components.percentEncodedQuery = query.map { "\(SigV4Signer.encode($0.0))=\(SigV4Signer.encode($0.1))" }.joined(separator: "&")
        }
        guard let url = components.url else { throw S3Error(status: 0, code: "CONFIGURATION", message: "bad object URL for \(key)") }
        let host = components.port.map { "\(components.host ?? ""):\($0)" } ?? (components.host ?? "")
        let payload = body == nil ? SigV4Signer.emptyPayloadHash : SigV4Signer.unsignedPayload
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in signer.authorizationHeaders(
            method: method, path: components.percentEncodedPath, query: query, headers: ["host": host], payloadHash: payload)
        {
            request.headers.add(name: name, value: value)
        }
        if let range { request.headers.add(name: "range", value: range) }
        if let body {
            request.headers.add(name: "content-length", value: String(body.readableBytes))
            request.body = .bytes(body)
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(300))
        } catch {
            // Refused, reset, timed out: the store is unreachable, which the API answers as 503.
            throw StorageUnavailable("the object store could not be reached (\(String(reflecting: type(of: error))))")
        }
        if response.status.code >= 500 {
            throw StorageUnavailable("the object store answered \(response.status.code)")
        }
        return response
    }

    static func check(_ status: HTTPResponseStatus, body: ByteBuffer) throws {
        guard !(200..<300).contains(Int(status.code)) else { return }
        let text = String(buffer: body)
        throw S3Error(
            status: Int(status.code), code: element("Code", in: text) ?? "HTTP\(status.code)",
            message: element("Message", in: text) ?? status.reasonPhrase)
    }

    /// The text of the first `<name>…</name>` in an S3 XML answer.
    static func element(_ name: String, in text: String) -> String? {
        guard let start = text.range(of: "<\(name)>"), let end = text.range(of: "</\(name)>", range: start.upperBound..<text.endIndex) else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }
}

/// Collects an object's bytes; sends parts of `partSize` as a multipart upload once the object
/// outgrows one part, so memory stays bounded by one part.
actor S3ObjectWriter: ObjectWriter {
    let storage: S3ObjectStorage
    let key: String
    private var buffer = ByteBuffer()
    private var uploadId: String?
    private var parts: [(number: Int, etag: String)] = []
    private var size: Int64 = 0

    init(storage: S3ObjectStorage, key: String) {
        self.storage = storage
        self.key = key
    }

    /// Bytes held in memory now (never more than one part).
    var bufferedBytes: Int { buffer.readableBytes }
    /// Parts already sent.
    var uploadedParts: Int { parts.count }

    func write(_ bytes: [UInt8]) async throws {
        buffer.writeBytes(bytes)
        size += Int64(bytes.count)
        while buffer.readableBytes >= storage.configuration.partSize {
            let part = buffer.readSlice(length: storage.configuration.partSize)!
            buffer.discardReadBytes()
            try await uploadPart(part)
        }
    }

    func finish() async throws -> Int64 {
        guard let uploadId else {
            _ = try await storage.put(key: key, body: buffer)
            return size
        }
        if buffer.readableBytes > 0 || parts.isEmpty { try await uploadPart(buffer) }
        var xml = "<CompleteMultipartUpload>"
        for part in parts { xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(part.etag)</ETag></Part>" }
        xml += "</CompleteMultipartUpload>"
        let (_, body) = try await storage.sendChecked("POST", key: key, query: [("uploadId", uploadId)], body: ByteBuffer(string: xml))
        // S3 may answer 200 with an error document when the completion fails late.
        if String(buffer: body).contains("<Error>") { try S3ObjectStorage.check(.internalServerError, body: body) }
        return size
    }

    func abort() async {
        buffer.clear()
        guard let uploadId else { return }
        _ = try? await storage.send("DELETE", key: key, query: [("uploadId", uploadId)])
    }

    private func uploadPart(_ part: ByteBuffer) async throws {
        let id = try await currentUploadId()
        let number = parts.count + 1
        let response = try await storage.put(key: key, query: [("partNumber", String(number)), ("uploadId", id)], body: part)
        guard let etag = response.headers.first(name: "etag") else {
            throw S3Error(status: Int(response.status.code), code: "NO_ETAG", message: "the store did not return an ETag for part \(number)")
        }
        parts.append((number, etag))
    }

    private func currentUploadId() async throws -> String {
        if let uploadId { return uploadId }
        let (response, body) = try await storage.sendChecked("POST", key: key, query: [("uploads", "")], body: ByteBuffer())
        guard let id = S3ObjectStorage.element("UploadId", in: String(buffer: body)) else {
            throw S3Error(status: Int(response.status.code), code: "NO_UPLOAD_ID", message: "CreateMultipartUpload answered without an UploadId")
        }
        uploadId = id
        return id
    }
}
