import Foundation
import WhisperAPICore

/// Object storage in a local directory; each key is a file below the root.
public struct LocalObjectStorage: ObjectStorage {
    public let root: URL

    /// Creates the root directory when it is missing.
    public init(root: String) throws {
        self.root = URL(fileURLWithPath: root, isDirectory: true)
        try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
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

    /// Local files are served by the API itself.
    public func downloadURL(key: String, expiresIn seconds: Int) async throws -> URL? { nil }

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
