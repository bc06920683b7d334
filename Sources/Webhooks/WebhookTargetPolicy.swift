import Foundation
import NIOPosix
import WhisperAPICore

#if canImport(Glibc)
import Glibc
#endif

/// A webhook URL that may not be used, with the reason.
public struct WebhookTargetRefused: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// Which URLs webhooks may go to: http(s) only, and not to private, loopback, link-local or other
/// internal addresses unless the configuration allows them (`WEBHOOK_ALLOW_PRIVATE`).
public struct WebhookTargetPolicy: Sendable {
    public var allowPrivate: Bool

    public init(allowPrivate: Bool) {
        self.allowPrivate = allowPrivate
    }

    /// Checks the URL's form and every address its host resolves to (name resolution blocks, so it runs on
    /// NIO's thread pool, not on the caller's); returns the URL.
    @discardableResult
    public func check(_ text: String) async throws -> URL {
        try await NIOThreadPool.singleton.runIfActive { try checkBlocking(text) }
    }

    func checkBlocking(_ text: String) throws -> URL {
        guard text.count <= 2048, let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty
        else { throw WebhookTargetRefused(description: "webhook_url must be an http or https URL") }
        guard url.user == nil, url.password == nil else {
            throw WebhookTargetRefused(description: "webhook_url must not carry a user name or password")
        }
        if allowPrivate { return url }
        let addresses = try Self.resolve(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")))
        guard !addresses.isEmpty else { throw WebhookTargetRefused(description: "webhook_url's host '\(host)' does not resolve") }
        if let refused = addresses.first(where: Self.isInternal) {
            throw WebhookTargetRefused(description: "webhook_url's host '\(host)' is an internal address (\(refused)); not allowed here")
        }
        return url
    }

    /// Whether a numeric address is loopback, private, link-local, shared, multicast or otherwise not public.
    public static func isInternal(_ address: String) -> Bool {
        if let v4 = ipv4(address) { return isInternal(v4: v4) }
        guard let v6 = ipv6(address) else { return true }
        if v6[0..<10].allSatisfy({ $0 == 0 }) && v6[10] == 0xff && v6[11] == 0xff {
            return isInternal(v4: Array(v6[12..<16]))  // IPv4-mapped
        }
        if v6[0..<15].allSatisfy({ $0 == 0 }) && (v6[15] == 0 || v6[15] == 1) { return true }  // :: and ::1
        if v6[0] & 0xfe == 0xfc { return true }  // fc00::/7 unique local
        if v6[0] == 0xfe && v6[1] & 0xc0 == 0x80 { return true }  // fe80::/10 link-local
        if v6[0] == 0xff { return true }  // multicast
        return false
    }

    static func isInternal(v4: [UInt8]) -> Bool {
        let (a, b) = (v4[0], v4[1])
        return a == 0 || a == 10 || a == 127 || a >= 224
            || (a == 100 && b & 0xc0 == 64)  // 100.64.0.0/10 shared
            || (a == 169 && b == 254)  // link-local, cloud metadata
            || (a == 172 && b & 0xf0 == 16)
            || (a == 192 && b == 168)
            || (a == 192 && b == 0 && v4[2] == 0)
            || (a == 198 && (b == 18 || b == 19))  // benchmarking
    }

    static func ipv4(_ text: String) -> [UInt8]? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    static func ipv6(_ text: String) -> [UInt8]? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// The numeric addresses a host name (or literal) resolves to.
    static func resolve(_ host: String) throws -> [String] {
        if ipv4(host) != nil || ipv6(host) != nil { return [host] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else {
            throw WebhookTargetRefused(description: "webhook_url's host '\(host)' does not resolve")
        }
        defer { freeaddrinfo(list) }
        var found: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                found.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            cursor = entry.pointee.ai_next
        }
        return found
    }
}
