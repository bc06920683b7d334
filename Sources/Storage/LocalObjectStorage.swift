import Crypto
import Foundation
import WhisperAPICore

/// Object storage in a local directory; each key is a file below the root.
///
/// Download URLs are the API's own `/api/v1/files` route with an expiry and an HMAC-SHA256 signature,
/// made with a key kept in `<root>/../.storage-signing-key` (created on first use, mode 0600).
public struct LocalObjectStorage: ObjectStorage {
    public let root: URL
    let signingKey: Data

    /// The route that serves signed download URLs.
    public static let downloadPath = "/api/v1/files"

    /// Creates the root directory when it is missing, and the signing key when there is none.
    public init(root: String) throws {
        self.root = URL(fileURLWithPath: root, isDirectory: true)
        try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
        signingKey = try Self.loadOrCreateSigningKey(at: self.root.deletingLastPathComponent().appendingPathComponent(".storage-signing-key"))
    }

    static func loadOrCreateSigningKey(at file: URL) throws -> Data {
        if let existing = FileManager.default.contents(atPath: file.path), existing.count == 32 {
            return existing
        }
        let key = SymmetricKey(size: .bits256)
        let bytes = key.withUnsafeBytes { Data($0) }
        let partial = file.path + ".\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: partial, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
        // Two processes creating it at once: link() refuses to replace, so the first wins and both read its key.
        if link(partial, file.path) != 0 && errno != EEXIST { throw CocoaError(.fileWriteUnknown) }
        try? FileManager.default.removeItem(atPath: partial)
        guard let stored = FileManager.default.contents(atPath: file.path), stored.count == 32 else { throw CocoaError(.fileReadCorruptFile) }
        return stored
    }

    func signature(key: String, expires: Int) -> String {
        HMAC<SHA256>.authenticationCode(for: Data("\(key)\n\(expires)".utf8), using: SymmetricKey(data: signingKey)).hexString
    }

    /// What a signed download URL's query says about itself.
    public enum DownloadCheck: Equatable, Sendable {
        case valid, expired, invalid
    }

    /// Checks a download URL's `key`, `expires` (Unix seconds) and `signature`, in constant time.
    public func checkDownload(key: String, expires: String, signature: String, now: Date = Date()) -> DownloadCheck {
        guard let deadline = Int(expires) else { return .invalid }
        let expected = self.signature(key: key, expires: deadline)
        guard APIKeyMaterial.constantTimeEqual(Array(expected.utf8), Array(signature.lowercased().utf8)) else { return .invalid }
        return Int(now.timeIntervalSince1970) > deadline ? .expired : .valid
    }

    /// The file for a key; keys with `..` or absolute paths are refused.
    func url(for key: String) throws -> URL {
        let parts = key.split(separator: "/")
        guard !key.hasPrefix("/"), !parts.isEmpty, !parts.contains(where: { $0 == ".." || $0 == "." }) else {
            throw ObjectNotFound(key: key)
        }
        return root.appendingPathComponent(key)
    }

    public func makeWriter(key: String) async throws -> any ObjectWriter {
        let target = try url(for: key)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let partial = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).\(UUID().uuidString).part")
        guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown)
        }
        return try LocalObjectWriter(partial: partial, target: target)
    }

    public func read(key: String) async throws -> Data? {
        let file = try url(for: key)
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        return try Data(contentsOf: file)
    }

    public func read(key: String, offset: Int64, length: Int64) async throws -> Data? {
        let file = try url(for: key)
        guard let handle = try? FileHandle(forReadingFrom: file) else { return nil }
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(max(0, offset)))
        return try handle.read(upToCount: Int(max(0, length))) ?? Data()
    }

    public func write(key: String, data: Data) async throws {
        let target = try url(for: key)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: target, options: .atomic)
    }

    public func localFile(for key: String) async throws -> LocalObjectFile {
        let file = try url(for: key)
        guard FileManager.default.fileExists(atPath: file.path) else { throw ObjectNotFound(key: key) }
        return LocalObjectFile(path: file.path, isTemporary: false)
    }

    /// A signed URL of the API's own download route (relative to the server), valid for `seconds`.
    public func downloadURL(key: String, expiresIn seconds: Int) async throws -> URL? {
        let expires = Int(Date().timeIntervalSince1970) + seconds
        var components = URLComponents()
        components.path = Self.downloadPath
        components.queryItems = [
            URLQueryItem(name: "key", value: key), URLQueryItem(name: "expires", value: String(expires)),
            URLQueryItem(name: "signature", value: signature(key: key, expires: expires)),
        ]
        return components.url
    }

    public func delete(key: String) async throws {
        let file = try url(for: key)
        if FileManager.default.fileExists(atPath: file.path) {
            try FileManager.default.removeItem(at: file)
        }
    }
}

/// Writes to a hidden partial file and renames it into place on `finish()`.
final class LocalObjectWriter: ObjectWriter, @unchecked Sendable {
    private let partial: URL
    private let target: URL
    private let handle: FileHandle
    private let lock = NSLock()
    private var size: Int64 = 0

    init(partial: URL, target: URL) throws {
        self.partial = partial
        self.target = target
        self.handle = try FileHandle(forWritingTo: partial)
    }

    func write(_ bytes: [UInt8]) async throws {
        try lock.withLock {
            try handle.write(contentsOf: bytes)
            size += Int64(bytes.count)
        }
    }

    func finish() async throws -> Int64 {
        try lock.withLock {
            try handle.close()
            if FileManager.default.fileExists(atPath: target.path) {
                try FileManager.default.removeItem(at: target)
            }
            try FileManager.default.moveItem(at: partial, to: target)
            return size
        }
    }

    func abort() async {
        lock.withLock {
            try? handle.close()
            try? FileManager.default.removeItem(at: partial)
        }
    }
}
