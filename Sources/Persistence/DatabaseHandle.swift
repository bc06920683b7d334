import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import WhisperAPICore

/// Owns the database connections for the life of the process.
public final class DatabaseHandle: Sendable {
    /// Which SQL server holds the data.
    public enum Kind: String, Sendable {
        case sqlite, postgres
    }

    public let databases: Databases
    /// The driver in use.
    public let kind: Kind
    private let eventLoopGroup: MultiThreadedEventLoopGroup
    private let logger: Logger

    /// Opens the embedded SQLite database file, creating its directory.
    ///
    /// One connection serves the process: SQLite allows a single writer, and one connection
    /// turns contention into an orderly queue instead of `SQLITE_BUSY` errors.
    public static func openSQLite(path: String, logger: Logger) async throws -> DatabaseHandle {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let databases = Databases(threadPool: NIOThreadPool.singleton, on: group)
        databases.use(.sqlite(.file(path), sqlLogLevel: nil), as: .sqlite)
        let handle = DatabaseHandle(kind: .sqlite, databases: databases, eventLoopGroup: group, logger: logger)
        let sql = handle.sql
        // WAL lets readers in other processes (the CLI) work while the server writes;
        // busy_timeout makes a second process wait for the lock instead of failing.
        try await sql.raw("PRAGMA journal_mode=WAL").run()
        try await sql.raw("PRAGMA busy_timeout=10000").run()
        try await sql.raw("PRAGMA synchronous=NORMAL").run()
        return handle
    }

    /// Connects to PostgreSQL (`postgres://user:password@host:port/database`, `?sslmode=require` for TLS)
    /// and checks the connection, so a wrong URL fails at start with an error that does not show the password.
    public static func openPostgres(url: String, logger: Logger) async throws -> DatabaseHandle {
        let display = redactedURL(url)
        let configuration: DatabaseConfigurationFactory
        do {
            configuration = try .postgres(url: url, maxConnectionsPerEventLoop: 4, sqlLogLevel: .debug)
        } catch {
            throw DatabaseOpenError(description: "DATABASE_URL is not a PostgreSQL URL: \(display)")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let databases = Databases(threadPool: NIOThreadPool.singleton, on: group)
        databases.use(configuration, as: .psql)
        let handle = DatabaseHandle(kind: .postgres, databases: databases, eventLoopGroup: group, logger: logger)
        do {
            try await handle.sql.raw("SELECT 1").run()
        } catch {
            await handle.shutdown()
            throw DatabaseOpenError(description: "cannot use PostgreSQL at \(display): \(String(reflecting: error))")
        }
        return handle
    }

    /// `url` with its password replaced by `***`, for messages and logs.
    public static func redactedURL(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "(unparsable URL)"
    }

    private init(kind: Kind, databases: Databases, eventLoopGroup: MultiThreadedEventLoopGroup, logger: Logger) {
        self.kind = kind
        self.databases = databases
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// A database to run queries on.
    public var database: any Database {
        // Only nil after shutdown, which callers never outlive.
        databases.database(logger: logger, on: eventLoopGroup.any())!
    }

    /// The same database, for raw SQL.
    public var sql: any SQLDatabase {
        // Both drivers (SQLite, PostgreSQL) are SQL databases.
        database as! any SQLDatabase
    }

    /// Runs the smallest query: throws when the database cannot be reached.
    public func ping() async throws {
        try await sql.raw("SELECT 1").run()
    }

    /// The database of the driver the configuration names.
    public static func open(_ configuration: ServiceConfiguration, logger: Logger) async throws -> DatabaseHandle {
        guard let url = configuration.databaseURL else {
            return try await openSQLite(path: configuration.sqlitePath, logger: logger)
        }
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw DatabaseOpenError(description: "DATABASE_URL must start with postgres:// (without it, SQLite under DATA_DIR is used)")
        }
        return try await openPostgres(url: url, logger: logger)
    }

    /// Applies every migration that has not run yet.
    ///
    /// Several servers starting together on one PostgreSQL database race to migrate it; a loser's
    /// statement fails on what the winner created, so a failed attempt is retried and then finds
    /// those migrations recorded.
    public func migrate(_ list: [any Migration]) async throws {
        let migrations = Migrations()
        migrations.add(list)
        let migrator = Migrator(databases: databases, migrations: migrations, logger: logger, on: eventLoopGroup.any())
        var attempt = 1
        while true {
            do {
                try await migrator.setupIfNeeded().get()
                try await migrator.prepareBatch().get()
                return
            } catch where kind == .postgres && attempt < 4 {
                logger.info("migration attempt failed; retrying", metadata: ["attempt": "\(attempt)", "error": "\(String(reflecting: error))"])
                attempt += 1
                try await Task.sleep(for: .milliseconds(500 * attempt))
            }
        }
    }

    /// Closes every connection.
    public func shutdown() async {
        await databases.shutdownAsync()
        try? await eventLoopGroup.shutdownGracefully()
    }
}

/// The database named by the configuration cannot be used.
public struct DatabaseOpenError: Error, CustomStringConvertible {
    public let description: String
}

extension DatabaseHandle {
    /// Whether an error means the database server could not be reached (refused, closed, timed out),
    /// rather than that a query was wrong: such a request should be answered 503 and tried again.
    public static func isUnavailable(_ error: any Error) -> Bool {
        if let error = error as? PSQLError {
            return [.connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed].contains(error.code)
        }
        return error is ConnectionPoolTimeoutError || error is NIOConnectionError || error is ChannelError
    }
}
