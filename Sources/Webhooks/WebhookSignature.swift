import Crypto
import Foundation
import WhisperAPICore

/// Signs webhook bodies as `WhisperAPI-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
///
/// A receiver recomputes the HMAC over the timestamp, a dot and the raw body with the key's webhook secret,
/// compares in constant time, and rejects timestamps too far from its clock (replays).
public enum WebhookSignature {
    /// The header that carries the signature.
    public static let headerName = "WhisperAPI-Signature"

    /// The header value for `body` sent at `timestamp`.
    public static func header(secret: String, timestamp: Int, body: String) -> String {
        "t=\(timestamp),v1=\(signature(secret: secret, timestamp: timestamp, body: body))"
    }

    static func signature(secret: String, timestamp: Int, body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return mac.hexString
    }

    /// Whether `header` is a valid signature of `body` made within `tolerance` of `now`.
    public static func verify(header: String, body: String, secret: String, tolerance: TimeInterval = 300, now: Date = Date()) -> Bool {
        var timestamp: Int?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int(pair[1]) }
            if pair[0] == "v1" { signatures.append(pair[1]) }
        }
        guard let timestamp, abs(now.timeIntervalSince1970 - Double(timestamp)) <= tolerance else { return false }
        let expected = Array(signature(secret: secret, timestamp: timestamp, body: body).utf8)
        return signatures.contains { APIKeyMaterial.constantTimeEqual(Array($0.utf8), expected) }
    }
}
