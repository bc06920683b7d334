import Logging
import Persistence
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
