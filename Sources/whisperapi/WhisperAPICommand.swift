import ArgumentParser
import Foundation
import Logging
import Server
import Services
import Telemetry
import WhisperAPICore

/// The `whisperapi` command: the server and its admin tools.
@main
struct WhisperAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whisperapi",
        abstract: "Self-hostable speech-to-text service.",
        subcommands: [
            Serve.self, WorkerCommand.self, Migrate.self, Users.self, Keys.self, QueueCommand.self, Login.self, Transcribe.self, Jobs.self,
        ],
        defaultSubcommand: Serve.self)
}

/// Options every subcommand shares; they override the environment.
struct CommonOptions: ParsableArguments {
    @Option(help: "Directory for the embedded database and storage (env DATA_DIR).")
    var dataDir: String?

    func configuration() -> ServiceConfiguration {
        var configuration = ServiceConfiguration()
        if let dataDir { configuration.dataDirectory = dataDir }
        return configuration
    }

    /// The process's logger (`LOG_FORMAT`, `LOG_LEVEL`); the first call sets up logging and metrics for the process.
    func logger(_ label: String = "whisperapi") -> Logger {
        _ = processSetUp
        return Logger(label: label)
    }

    /// Opens the backends, runs `body`, and closes them.
    func withBackend<T>(_ body: (Backend) async throws -> T) async throws -> T {
        let backend = try await Backend.open(configuration(), logger: logger())
        do {
            let value = try await body(backend)
            await backend.close()
            return value
        } catch {
            await backend.close()
            throw error
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API (and, by default, in-process workers).")

    @OptionGroup var common: CommonOptions
    @Option(help: "Address to listen on (env HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (env PORT, default 8080).") var port: Int?
    @Option(help: "Jobs the in-process worker runs at once, batched in its one engine process (env QUEUE_CONCURRENCY, default 8); 0 for none.") var workers: Int?

    func run() async throws {
        var configuration = common.configuration()
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        if let workers { configuration.workerConcurrency = max(0, workers) }
        let logger = common.logger()
        let backend = try await Backend.open(configuration, logger: logger)
        if let (user, key) = try await backend.administration.bootstrapAdminIfNeeded() {
            if LogSetup.isJSON() {
                // JSON logs go to a collector: the key goes to a file only the service's user can read.
                let file = "\(configuration.dataDirectory)/initial-admin-key"
                guard FileManager.default.createFile(atPath: file, contents: Data((key + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw ValidationError("could not write the first admin key to \(file); create a key with `whisperapi keys create`")
                }
                logger.notice("first start: created the admin user; its API key is in the file (read it, then delete it)", metadata: [
                    "email": "\(user.email)", "file": "\(file)",
                ])
            } else {
                say("""
                ================================================================
                First start: created admin user \(user.email) (plan \(user.plan.rawValue)).
                Its API key is shown only this once; store it now:

                    \(key)

                ================================================================
                """)
            }
        }
        try await serveUntilStopped(backend: backend, workers: configuration.workerConcurrency, logger: logger)
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run a standalone worker on the Redis queue (needs REDIS_URL).")

    @OptionGroup var common: CommonOptions
    @Option(help: "Jobs run at once, batched in one engine process (env QUEUE_CONCURRENCY, default 8).") var concurrency: Int?
    @Option(help: "Serve Prometheus metrics on this port (env METRICS_PORT; default none).") var metricsPort: Int?

    func run() async throws {
        var configuration = common.configuration()
        if let metricsPort { configuration.metricsPort = metricsPort }
        let group = try buildWorkerProcess(configuration, concurrency: max(1, concurrency ?? configuration.workerConcurrency), logger: common.logger())
        try await group.run()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations.")
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await common.withBackend { _ in say("migrations applied") }
    }
}

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage users.", subcommands: [Create.self, List.self, SetPlan.self, Usage.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Email address.") var email: String
        @Option(help: "FREE, PRO or PAYG.") var plan: String = "FREE"
        @Flag(help: "Give the user admin rights.") var admin = false

        func run() async throws {
            guard let plan = Plan(rawValue: plan.uppercased()) else {
                throw ValidationError("plan must be one of FREE, PRO, PAYG")
            }
            let user = try await common.withBackend { try await $0.administration.createUser(email: email, plan: plan, isAdmin: admin) }
            say("created user \(user.email) id=\(user.id.lowercasedString) plan=\(user.plan.rawValue) admin=\(user.isAdmin)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            for user in try await common.withBackend({ try await $0.users.all() }) {
                say("\(user.email)\t\(user.plan.rawValue)\t\(user.isAdmin ? "admin" : "-")\t\(user.id.lowercasedString)")
            }
        }
    }
}

extension Users {
    struct SetPlan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-plan", abstract: "Change a user's plan (takes effect at once).")
        @OptionGroup var common: CommonOptions
        @Option(help: "The user's email or id.") var user: String
        @Option(help: "FREE, PRO or PAYG.") var plan: String

        func run() async throws {
            guard let plan = Plan(rawValue: plan.uppercased()) else { throw ValidationError("plan must be one of FREE, PRO, PAYG") }
            let updated = try await common.withBackend { try await $0.administration.setPlan(user: user, plan: plan) }
            say("\(updated.email) is now on \(updated.plan.rawValue)")
        }
    }

    struct Usage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A user's metered audio this month.")
        @OptionGroup var common: CommonOptions
        @Option(help: "The user's email or id.") var user: String

        func run() async throws {
            let report = try await common.withBackend { backend in
                let actions = backend.administration
                return try await actions.usage(of: try await actions.find(user: user))
            }
            let quota = report.quotaMinutes.map { "\($0) min quota, \(report.remainingMinutes ?? 0) left" } ?? "no quota (metered)"
            say("\(report.period): \(report.audioMinutes) min in \(report.jobs) job(s); \(report.plan.rawValue), \(quota)")
        }
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage API keys.", subcommands: [Create.self, List.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A user's keys (prefixes, never the keys).")
        @OptionGroup var common: CommonOptions
        @Option(help: "The user's email or id.") var user: String

        func run() async throws {
            let keys = try await common.withBackend { backend in
                try await backend.users.keys(userId: try await backend.administration.find(user: user).id)
            }
            for key in keys {
                let state = key.revokedAt.map { "revoked \($0.formatted(.iso8601))" } ?? "active"
                say("\(key.prefix)\t\(key.name ?? "-")\t\(state)\tcreated \(key.createdAt.formatted(.iso8601))")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; it is printed once, alone on the last line.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Email of the key's owner.") var email: String
        @Option(help: "A name to recognise the key by.") var name: String?

        func run() async throws {
            let (key, record) = try await common.withBackend { try await $0.administration.createKey(email: email, name: name) }
            say("created key \(record.prefix) for \(email); it and its webhook signing secret will not be shown again.")
            say("webhook signing secret: \(record.webhookSecret ?? "")")
            say(key)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its display prefix.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The key's prefix, e.g. wapi_AbCd1234.") var prefix: String

        func run() async throws {
            try await common.withBackend { try await $0.administration.revokeKey(prefix: prefix) }
            say("revoked \(prefix)")
        }
    }
}

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue", abstract: "Inspect and clean the queue.", subcommands: [Stats.self, Cleanup.self])

    struct Cleanup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clean", abstract: "Remove finished jobs past their retention now.", aliases: ["cleanup"])
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let removed = try await common.withBackend { try await $0.administration.cleanUpQueue() }
            say("removed \(removed) job(s)")
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Job counts by state.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let stats = try await common.withBackend { try await $0.queue.getQueueStats() }
            say("waiting=\(stats.waiting) active=\(stats.active) delayed=\(stats.delayed) completed=\(stats.completed) failed=\(stats.failed) cancelled=\(stats.cancelled)")
        }
    }
}

/// Logging and metrics, set up once per process before the first logger or metric is made.
let processSetUp: Void = {
    LogSetup.bootstrap()
    MetricsExport.bootstrap()
}()

/// Writes a line to standard output at once (no buffering), so scripts and logs see it immediately.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
