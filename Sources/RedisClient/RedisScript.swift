import Crypto
import Foundation

/// A Lua script run with EVALSHA; its SHA-1 is computed once.
public struct RedisScript: Sendable {
    public let name: String
    public let source: String
    public let sha1: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
        sha1 = Insecure.SHA1.hash(data: Data(source.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
