import Foundation

/// Where the terminal client finds the server and its key: `--server`/`--key`, then `WHISPERAPI_URL`/`WHISPERAPI_KEY`,
/// then `~/.config/whisperapi/config.json` (written by `whisperapi login`, readable by its owner only).
public struct ClientSettings: Codable, Sendable, Equatable {
    public var server: String
    public var key: String

    public init(server: String, key: String) {
        self.server = server
        self.key = key
    }

    /// `$XDG_CONFIG_HOME/whisperapi/config.json`, or `~/.config/whisperapi/config.json`.
    public static func configFile(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".config")
        return base.appendingPathComponent("whisperapi/config.json")
    }

    /// The settings in force; throws a message saying how to sign in when no key is known.
    public static func resolve(
        server: String?, key: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ClientSettings {
        let stored = try? JSONDecoder().decode(ClientSettings.self, from: Data(contentsOf: configFile(environment: environment)))
        let resolvedServer = server ?? environment["WHISPERAPI_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? stored?.server ?? "http://127.0.0.1:8080"
        guard let resolvedKey = key ?? environment["WHISPERAPI_KEY"].flatMap({ $0.isEmpty ? nil : $0 }) ?? stored?.key else {
            throw ClientError.usage("no API key: run `whisperapi login --server URL --key KEY`, or set WHISPERAPI_KEY")
        }
        return ClientSettings(server: try normalized(resolvedServer), key: resolvedKey)
    }

    /// A server URL without a trailing slash; throws when it is not http(s).
    public static func normalized(_ server: String) throws -> String {
        var text = server.trimmingCharacters(in: .whitespaces)
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
            throw ClientError.usage("the server must be an http(s) URL such as http://127.0.0.1:8080, not '\(server)'")
        }
        return text
    }

    /// Writes the settings with mode 0600 (the folder 0700).
    public func save(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        let file = Self.configFile(environment: environment)
        let folder = file.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        // Created 0600 before any byte of the key is written.
        if !FileManager.default.fileExists(atPath: file.path) {
            _ = FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: data)
        return file
    }
}

/// A failure the terminal client explains to its user.
public enum ClientError: Error, CustomStringConvertible {
    /// The command was used wrongly, or is missing something.
    case usage(String)
    /// The API answered with an error.
    case api(status: Int, code: String, message: String)
    /// The server could not be reached.
    case unreachable(String)

    public var description: String {
        switch self {
        case .usage(let message): message
        case .api(_, let code, let message): "\(code): \(message)"
        case .unreachable(let server): "cannot reach \(server)"
        }
    }
}
