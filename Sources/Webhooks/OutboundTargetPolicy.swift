import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import WhisperAPICore

#if canImport(Glibc)
import Glibc
#endif

/// A URL an outbound request (a webhook, an `audio_url` download) may not go to, with the reason.
public struct OutboundTargetRefused: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// A checked URL and the address to connect to: the very address that was checked, so that a name resolving to
/// another address a moment later (DNS rebinding) cannot lead the connection somewhere internal.
public struct PinnedTarget: Sendable {
    public let url: URL
    public let host: String
    /// The checked address to connect to; nil when private targets are allowed (the name is resolved as usual).
    public let address: String?
}

/// Which URLs outbound requests may go to: http(s) only, no user name or password, and not to private, loopback,
/// link-local, metadata or other internal addresses unless the configuration allows them (`WEBHOOK_ALLOW_PRIVATE`,
/// `INTAKE_ALLOW_PRIVATE`). Every address the host resolves to must be public; the connection is then pinned to one
/// of them (`PinnedTarget`, `PinnedConnection`).
public struct OutboundTargetPolicy: Sendable {
    public var allowPrivate: Bool
    /// What messages call the URL (`webhook_url`, `audio_url`).
    public var field: String
    /// A host's numeric addresses (the system resolver; tests give a stub).
    let resolver: @Sendable (String) throws -> [String]
    /// Whether an address is internal (tests may narrow it to reach a local server).
    let isInternalAddress: @Sendable (String) -> Bool

    public init(
        allowPrivate: Bool, field: String, resolver: @escaping @Sendable (String) throws -> [String] = Self.resolve,
        isInternal: @escaping @Sendable (String) -> Bool = Self.isInternal
    ) {
        self.allowPrivate = allowPrivate
        self.field = field
        self.resolver = resolver
        self.isInternalAddress = isInternal
    }

    /// Checks the URL's form and every address its host resolves to (name resolution blocks, so it runs on
    /// NIO's thread pool, not on the caller's); returns the URL and the address to connect to.
    @discardableResult
    public func check(_ text: String) async throws -> PinnedTarget {
        try await NIOThreadPool.singleton.runIfActive { try checkBlocking(text) }
    }

    func checkBlocking(_ text: String) throws -> PinnedTarget {
        guard text.count <= 2048, let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty
        else { throw OutboundTargetRefused(description: "\(field) must be an http or https URL") }
        guard url.user == nil, url.password == nil else {
            throw OutboundTargetRefused(description: "\(field) must not carry a user name or password")
        }
        if allowPrivate { return PinnedTarget(url: url, host: host, address: nil) }
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let addresses: [String]
        do {
            addresses = try resolver(bare)
        } catch {
            throw OutboundTargetRefused(description: "\(field)'s host '\(host)' does not resolve")
        }
        guard let first = addresses.first else { throw OutboundTargetRefused(description: "\(field)'s host '\(host)' does not resolve") }
        if let refused = addresses.first(where: isInternalAddress) {
            throw OutboundTargetRefused(description: "\(field)'s host '\(host)' is an internal address (\(refused)); not allowed here")
        }
        return PinnedTarget(url: url, host: bare, address: first)
    }

    /// Whether a numeric address is loopback, private, link-local, shared, multicast or otherwise not public.
    @Sendable public static func isInternal(_ address: String) -> Bool {
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
    @Sendable public static func resolve(_ host: String) throws -> [String] {
        if ipv4(host) != nil || ipv6(host) != nil { return [host] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else {
            throw OutboundTargetRefused(description: "'\(host)' does not resolve")
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

/// An HTTP client for one checked target: it connects to the pinned address (the name is still sent as the Host
/// header and TLS server name), follows no redirects, gives up connecting after `connectTimeout` and, with a
/// `readTimeout`, waiting for the next bytes after that. Shut it down after use.
public enum PinnedConnection {
    public static func client(for target: PinnedTarget, connectTimeout: TimeAmount = .seconds(5), readTimeout: TimeAmount? = nil) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: connectTimeout, read: readTimeout)
        if let address = target.address, address != target.host { configuration.dnsOverride = [target.host: address] }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
