import Logging
import Persistence
import SQLKit
import Server
import Testing
import WhisperAPICore

@Suite struct DatabaseConfigurationTests {
    @Test func anUnreachablePostgresFailsAtStartWithoutShowingThePassword() async throws {
        let configuration = ServiceConfiguration(environment: [
            "DATABASE_URL": "postgres://app:hunter2@127.0.0.1:1/whisper", "REDIS_URL": "redis://127.0.0.1:1",
        ])
        let error = await #expect(throws: DatabaseOpenError.self) {
            _ = try await DatabaseHandle.open(configuration, logger: Logger(label: "test"))
        }
        #expect(error?.description.contains("app:***@127.0.0.1:1/whisper") == true)
        #expect(error?.description.contains("hunter2") == false)
    }

    @Test func postgresWithoutRedisIsAConfigurationError() async throws {
        let configuration = ServiceConfiguration(environment: ["DATABASE_URL": "postgres://app@127.0.0.1:1/whisper"])
        await #expect(throws: ConfigurationError.self) {
            _ = try await Backend.open(configuration, logger: Logger(label: "test"))
        }
    }

    @Test func otherDatabaseURLsAreRefused() async throws {
        let configuration = ServiceConfiguration(environment: ["DATABASE_URL": "mysql://app@127.0.0.1/whisper"])
        await #expect(throws: DatabaseOpenError.self) {
            _ = try await DatabaseHandle.open(configuration, logger: Logger(label: "test"))
        }
    }
}

@Suite struct ListingIndexTests {
    /// A page of a user's transcriptions, newest first, as the list route asks for it.
    static let listing = """
        SELECT "id" FROM "transcriptions" WHERE "user_id" = '00000000-0000-0000-0000-000000000001'
        ORDER BY "created_at" DESC, "id" DESC LIMIT 21
        """

    @Test func aPageOfAUsersTranscriptionsIsReadInIndexOrderWithoutSorting() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let handle = try await DatabaseHandle.openSQLite(path: directory.path + "/list.sqlite", logger: logger)
        do {
            try await handle.migrate(PersistenceMigrations.all)
            let plan = try await handle.sql.raw("EXPLAIN QUERY PLAN \(unsafeRaw: Self.listing)").all()
                .map { try $0.decode(column: "detail", as: String.self) }.joined(separator: "; ")
            #expect(plan.contains("transcriptions_user_created"), "\(plan)")
            #expect(!plan.contains("TEMP B-TREE"), "the page is sorted instead of read in order: \(plan)")
        } catch {
            await handle.shutdown()
            throw error
        }
        await handle.shutdown()
    }

    @Test(.enabled(if: DatabaseDriver.available.contains(.postgres)))
    func postgresHasTheListingIndexesToo() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let scratch = try await ScratchPostgresDatabase.create(logger: logger)
        do {
            let handle = try await DatabaseHandle.openPostgres(url: scratch.url, logger: logger)
            try await handle.migrate(PersistenceMigrations.all)
            let names = try await handle.sql.raw("SELECT indexname FROM pg_indexes").all()
                .map { try $0.decode(column: "indexname", as: String.self) }
            await handle.shutdown()
            #expect(names.contains("transcriptions_user_created") && names.contains("batches_user_created"), "\(names)")
        } catch {
            await scratch.drop()
            throw error
        }
        await scratch.drop()
    }
}
