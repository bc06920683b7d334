import Foundation

/// Stores opaque objects under service-generated keys.
public protocol ObjectStorage: Sendable {
    /// Opens a streaming writer; nothing is visible under `key` until `finish()`.
    func makeWriter(key: String) async throws -> any ObjectWriter
    /// Reads a whole (small) object; nil when it does not exist.
    func read(key: String) async throws -> Data?
    /// Up to `length` bytes of an object from `offset` (fewer at its end); nil when it does not exist.
    func read(key: String, offset: Int64, length: Int64) async throws -> Data?
    /// Writes a whole (small) object.
    func write(key: String, data: Data) async throws
    /// A local file holding the object, for the engine: the object's own file, or a downloaded copy.
    func localFile(for key: String) async throws -> LocalObjectFile
    /// Removes an object; no error when it does not exist.
    func delete(key: String) async throws
    /// A URL that downloads the object without credentials until it expires (S3: presigned), or nil
    /// when the store has none and the API serves the bytes itself.
    func downloadURL(key: String, expiresIn seconds: Int) async throws -> URL?
}

/// A file on local disk that holds an object's bytes.
public struct LocalObjectFile: Sendable {
    public var path: String
    /// Whether the caller must delete the file when done (a downloaded copy).
    public var isTemporary: Bool

    public init(path: String, isTemporary: Bool) {
        self.path = path
        self.isTemporary = isTemporary
    }
}

/// Receives an object's bytes in order.
public protocol ObjectWriter: Sendable {
    /// Appends bytes.
    func write(_ bytes: [UInt8]) async throws
    /// Makes the object visible; returns its size.
    @discardableResult
    func finish() async throws -> Int64
    /// Discards everything written so far.
    func abort() async
}

/// Raised when an object does not exist.
public struct ObjectNotFound: Error, Sendable {
    public let key: String
    public init(key: String) { self.key = key }
}

/// The object store could not be reached, or answered with a server error: try again later.
public struct StorageUnavailable: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
