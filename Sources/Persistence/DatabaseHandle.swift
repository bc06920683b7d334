import FluentKit
import FluentSQLiteDriver
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit

/// Owns the database connections for the life of the process.
public final class DatabaseHandle: Sendable {
    public let databases: Databases
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
        let handle = DatabaseHandle(databases: databases, eventLoopGroup: group, logger: logger)
        let sql = handle.sql
        // WAL lets readers in other processes (the CLI) work while the server writes;
        // busy_timeout makes a second process wait for the lock instead of failing.
        try await sql.raw("PRAGMA journal_mode=WAL").run()
        try await sql.raw("PRAGMA busy_timeout=10000").run()
        try await sql.raw("PRAGMA synchronous=NORMAL").run()
        return handle
    }

    private init(databases: Databases, eventLoopGroup: MultiThreadedEventLoopGroup, logger: Logger) {
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

    /// Applies every migration that has not run yet.
    public func migrate(_ list: [any Migration]) async throws {
        let migrations = Migrations()
        migrations.add(list)
        let migrator = Migrator(databases: databases, migrations: migrations, logger: logger, on: eventLoopGroup.any())
        try await migrator.setupIfNeeded().get()
        try await migrator.prepareBatch().get()
    }

    /// Closes every connection.
    public func shutdown() async {
        await databases.shutdownAsync()
        try? await eventLoopGroup.shutdownGracefully()
    }
}
