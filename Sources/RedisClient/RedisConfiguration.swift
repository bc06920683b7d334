import Foundation

/// Where and how to connect: parsed from `redis://user:pass@host:port/db` or `rediss://…` (TLS).
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    public var useTLS: Bool
    /// Name shown by `CLIENT LIST`.
    public var clientName: String?
    /// Speak RESP3 (`HELLO 3`) instead of RESP2.
    public var useRESP3: Bool
    /// A PEM file of certificate authorities to trust for TLS instead of the system's (`?ca=/path` in the URL).
    public var tlsCAFile: String?

    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
        database: Int = 0, useTLS: Bool = false, clientName: String? = nil, useRESP3: Bool = false, tlsCAFile: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.useTLS = useTLS
        self.clientName = clientName
        self.useRESP3 = useRESP3
        self.tlsCAFile = tlsCAFile
    }

    /// The URL is not a redis:// or rediss:// URL.
    public struct InvalidURL: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses a Redis URL; `rediss://…?ca=/path/ca.pem` trusts that CA for TLS.
    public init(url text: String) throws {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "redis" || scheme == "rediss", let host = url.host, !host.isEmpty
        else { throw InvalidURL(description: "expected redis://[user:password@]host[:port][/db]") }
        var database = 0
        let path = url.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let number = Int(path), number >= 0 else { throw InvalidURL(description: "the database must be a number") }
            database = number
        }
        let user = url.percentEncodedUser.flatMap { $0.removingPercentEncoding }
        let password = url.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        self.init(
            host: host, port: url.port ?? 6379,
            username: (user?.isEmpty ?? true) ? nil : user,
            password: password,
            database: database, useTLS: scheme == "rediss")
        tlsCAFile = url.queryItems?.first { $0.name == "ca" || $0.name == "ssl_ca_certs" }?.value
        if self.password == nil, let user, !user.isEmpty, url.percentEncodedPassword == nil {
            // redis://secret@host is the classic "password only" form.
            self.password = user
            self.username = nil
        }
    }

    /// The URL without credentials, safe for logs.
    public var redacted: String {
        "\(useTLS ? "rediss" : "redis")://\(host):\(port)/\(database)"
    }
}
