import FluentKit
import Foundation
import Logging
import Persistence
import SQLQueue
import Storage
import WhisperAPICore

/// The backends chosen by configuration: database, queue and object storage.
///
/// Everything above this type is the same whichever backends are in use.
public struct Backend: Sendable {
    public let configuration: ServiceConfiguration
    public let database: DatabaseHandle
    public let queue: any TranscriptionQueue
    public let leasing: any JobLeasing
    public let storage: any ObjectStorage
    public let users: UserRepository
    public let transcriptions: TranscriptionRepository
    public let cursors: SyncCursorRepository

    /// Opens the backends and applies pending migrations.
    public static func open(_ configuration: ServiceConfiguration, logger: Logger) async throws -> Backend {
        let database = try await DatabaseHandle.openSQLite(path: configuration.sqlitePath, logger: logger)
        do {
            try await database.migrate(PersistenceMigrations.all + [CreateQueueTables()])
            let queue = SQLTranscriptionQueue(database: database.database, retryPolicy: configuration.retryPolicy, logger: logger)
            let storage = try LocalObjectStorage(root: configuration.storageDirectory)
            let db = database.database
            return Backend(
                configuration: configuration, database: database, queue: queue, leasing: queue, storage: storage,
                users: UserRepository(database: db), transcriptions: TranscriptionRepository(database: db),
                cursors: SyncCursorRepository(database: db))
        } catch {
            await database.shutdown()
            throw error
        }
    }

    /// Stops the queue and closes the database.
    public func close() async {
        await queue.shutdown()
        await database.shutdown()
    }
}
