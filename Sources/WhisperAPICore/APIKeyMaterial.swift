import Crypto
import Foundation

/// Creates, parses and verifies API keys of the form `wapi_<8 char id>_<32 char secret>`.
///
/// The id part is the display prefix used to find the stored record; the whole key is
/// verified against its SHA-256 hash in constant time.
public enum APIKeyMaterial {
    /// A newly generated key: the plaintext is shown once and never stored.
    public struct Generated: Sendable {
        public let plaintext: String
        public let prefix: String
        public let hash: String
    }

    static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    static let tag = "wapi"

    /// Generates a fresh random key.
    public static func generate() -> Generated {
        let id = randomCharacters(8)
        let secret = randomCharacters(32)
        let plaintext = "\(tag)_\(id)_\(secret)"
        return Generated(plaintext: plaintext, prefix: "\(tag)_\(id)", hash: hash(plaintext))
    }

    /// A fresh webhook signing secret (`whsec_` and 32 random characters), shown to the key's owner once.
    public static func generateWebhookSecret() -> String {
        "whsec_" + randomCharacters(32)
    }

    /// `count` characters from the alphabet, from the system's secure random source.
    public static func randomCharacters(_ count: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int(rng.next(upperBound: UInt(alphabet.count)))] })
    }

    /// The display prefix of a well-formed key, or nil when the key is malformed.
    public static func prefix(of key: String) -> String? {
        let parts = key.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == tag, parts[1].count == 8, parts[2].count == 32,
              (parts[1] + parts[2]).allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
        else { return nil }
        return "\(tag)_\(parts[1])"
    }

    /// The hex SHA-256 of a key.
    public static func hash(_ key: String) -> String {
        sha256(key).hexString
    }

    /// The SHA-256 of a key as four words: a dictionary key that needs no hex string.
    public static func digest(_ key: String) -> SIMD4<UInt64> {
        sha256(key).withUnsafeBytes { bytes in
            func word(_ index: Int) -> UInt64 { bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) }
            return SIMD4(word(0), word(1), word(2), word(3))
        }
    }

    private static func sha256(_ key: String) -> SHA256Digest {
        var key = key
        return key.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
    }

    /// Compares a presented key with a stored hash without leaking timing.
    public static func matches(_ key: String, storedHash: String) -> Bool {
        constantTimeEqual(Array(hash(key).utf8), Array(storedHash.utf8))
    }

    /// Constant-time byte comparison (time depends only on the lengths).
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
