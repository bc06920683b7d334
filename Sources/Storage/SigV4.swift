import Crypto
import Foundation
import WhisperAPICore

/// AWS Signature Version 4 for S3-compatible stores: the `Authorization` header of a request, and
/// presigned URLs.
public struct SigV4Signer: Sendable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var region: String
    public var service: String

    public init(accessKeyId: String, secretAccessKey: String, region: String, service: String = "s3") {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.region = region
        self.service = service
    }

    /// The payload hash S3 accepts for bodies that are streamed and not hashed.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// SHA-256 of the empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The headers to add to a request: `x-amz-date`, `x-amz-content-sha256` and `Authorization`.
    ///
    /// `path` is the request path as sent (already percent-encoded), `query` the query items, and
    /// `headers` every header to sign (`host` among them).
    public func authorizationHeaders(
        method: String, path: String, query: [(String, String)] = [], headers: [String: String],
        payloadHash: String, date: Date = Date()
    ) -> [String: String] {
        let stamp = Self.timestamp(date)
        var signed = Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), $0.value) })
        signed["x-amz-date"] = stamp
        signed["x-amz-content-sha256"] = payloadHash
        let names = signed.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(Self.trimmed(signed[$0]!))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let request = [method, path, Self.canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash]
            .joined(separator: "\n")
        let signature = sign(canonicalRequest: request, stamp: stamp)
        return [
            "x-amz-date": stamp,
            "x-amz-content-sha256": payloadHash,
            "Authorization": "AWS4-HMAC-SHA256 Credential=\(accessKeyId)/\(scope(stamp)),SignedHeaders=\(signedHeaders),Signature=\(signature)",
        ]
    }

    /// A presigned URL for `method` on `url` (its path already percent-encoded), valid for `expires` seconds.
    public func presignedURL(method: String = "GET", url: URL, expires: Int, date: Date = Date()) -> URL {
        let stamp = Self.timestamp(date)
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        let host = components.port.map { "\(components.host ?? ""):\($0)" } ?? (components.host ?? "")
        var query = (components.percentEncodedQueryItems ?? []).map { ($0.name, $0.value ?? "") }
        query += [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(accessKeyId)/\(scope(stamp))"),
            ("X-Amz-Date", stamp),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        let request = [method, path, Self.canonicalQuery(query), "host:\(host)\n", "host", Self.unsignedPayload]
            .joined(separator: "\n")
        let signature = sign(canonicalRequest: request, stamp: stamp)
        components.percentEncodedQuery = Self.canonicalQuery(query + [("X-Amz-Signature", signature)])
        return components.url!
    }

    func scope(_ stamp: String) -> String {
        "\(stamp.prefix(8))/\(region)/\(service)/aws4_request"
    }

    func sign(canonicalRequest: String, stamp: String) -> String {
        let hashed = SHA256.hash(data: Data(canonicalRequest.utf8)).hexString
        let stringToSign = "AWS4-HMAC-SHA256\n\(stamp)\n\(scope(stamp))\n\(hashed)"
        var key = SymmetricKey(data: Data("AWS4\(secretAccessKey)".utf8))
        for part in [String(stamp.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key).hexString
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters (and `/` when `keepSlash`).
    public static func encode(_ value: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// Query items encoded and sorted as SigV4 wants them. Values that arrive already encoded keep their encoding.
    static func canonicalQuery(_ items: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = items.map { item in
            (encode(decoded(item.0)), encode(decoded(item.1)))
        }
        let sorted = encoded.sorted { left, right in
            left.name == right.name ? left.value < right.value : left.name < right.name
        }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    static func decoded(_ value: String) -> String {
        value.removingPercentEncoding ?? value
    }

    static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}
