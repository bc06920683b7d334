// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "whisperapi",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "whisperapi", targets: ["whisperapi"]),
        .executable(name: "queue-bench", targets: ["QueueBench"]),
        .library(name: "RedisClient", targets: ["RedisClient"]),
        .library(name: "BullMQ", targets: ["BullMQ"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // OTLP over HTTP only: the gRPC exporter's dependencies would add minutes to every clean build.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/fluent-kit", from: "1.57.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver", from: "2.14.0"),
        .package(url: "https://github.com/vapor/sql-kit", from: "3.36.0"),
        // Without its default trait (loading external references), which we do not use and which builds slower.
        .package(url: "https://github.com/mattpolzin/OpenAPIKit", from: "6.4.0", traits: []),
        // Test child processes only (redis-server, openssl, Python peers).
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    ],
    targets: [
        // Domain types and protocols; no server, database or process imports.
        .target(
            name: "WhisperAPICore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // A small RESP2/RESP3 Redis client on SwiftNIO: pool, pipelining, scripts, TLS, reconnect.
        .target(
            name: "RedisClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // BullMQ v5's Redis format: Queue, Worker and QueueEvents, usable on their own.
        .target(
            name: "BullMQ",
            dependencies: [
                "RedisClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // WhisperAPI's queue on Redis in BullMQ's format.
        .target(
            name: "RedisQueue",
            dependencies: [
                "WhisperAPICore", "BullMQ", "RedisClient", "Telemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // Object storage: local files, or an S3-compatible bucket (our own SigV4 on async-http-client).
        .target(
            name: "Storage",
            dependencies: [
                "WhisperAPICore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // FluentKit models, migrations and repositories on SQLite (embedded) or PostgreSQL (DATABASE_URL).
        .target(
            name: "Persistence",
            dependencies: [
                "WhisperAPICore",
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The durable embedded queue, kept in the same SQL database.
        .target(
            name: "SQLQueue",
            dependencies: [
                "WhisperAPICore", "Telemetry",
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // What the service measures (names, labels, buckets; recorded through swift-metrics), how it logs, and the
        // trace context jobs carry.
        .target(
            name: "Telemetry",
            dependencies: [
                "WhisperAPICore",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The Python engine processes and the result formatters.
        .target(
            name: "Engine",
            dependencies: [
                "WhisperAPICore", "Telemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // libwhisper's C interface, opened at run time (dlopen): the package builds without it, and the bridge is
        // compiled against whisper.h once scripts/build-whispercpp.sh has installed it into .whispercpp/.
        .target(
            name: "CWhisper",
            cSettings: [.headerSearchPath("../../.whispercpp/include")],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // The whisper.cpp engine: libwhisper in this process, audio decoded by ffmpeg, no Python.
        .target(
            name: "WhisperCpp",
            dependencies: [
                "CWhisper", "WhisperAPICore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The worker pool: audio from storage, a Transcriber, result to storage.
        .target(
            name: "Worker",
            dependencies: [
                "WhisperAPICore", "Telemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Limits shared by API servers: rate limits, named locks and credential-change notices, in process or on Redis.
        .target(
            name: "Limits",
            dependencies: [
                "WhisperAPICore", "RedisClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // Webhooks: signing, the target policy, and the sender that drains the webhook queue.
        .target(
            name: "Webhooks",
            dependencies: [
                "WhisperAPICore", "Persistence", "Telemetry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The use cases, each one type (Submission, JobControl, plan checks, administration): what the
        // routes, the dashboard and the CLI call. No HTTP: they take typed requests and throw `APIError`.
        .target(
            name: "Services",
            dependencies: ["WhisperAPICore", "Persistence", "Webhooks", "Telemetry", .product(name: "Tracing", package: "swift-distributed-tracing")]
        ),
        // The Hummingbird application: routes, auth, upload, status sync.
        .target(
            name: "Server",
            dependencies: [
                "WhisperAPICore", "Services", "Storage", "Persistence", "SQLQueue", "RedisQueue", "RedisClient", "Engine", "WhisperCpp", "Worker", "Webhooks", "Limits", "Telemetry",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The terminal client (`whisperapi login|transcribe|jobs`): a client of the REST API and the event stream.
        .target(
            name: "TerminalClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        // The thin command-line entry point.
        .executableTarget(
            name: "whisperapi",
            dependencies: [
                "Server", "Services", "TerminalClient", "Telemetry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The queue benchmark (bench/queue): Swift side.
        .executableTarget(
            name: "QueueBench",
            dependencies: [
                "BullMQ", "RedisClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TestProcesses",
            dependencies: [.product(name: "Subprocess", package: "swift-subprocess")],
            path: "Tests/TestProcesses"
        ),
        .testTarget(
            name: "RedisClientTests",
            dependencies: ["RedisClient", "TestProcesses", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "BullMQTests",
            dependencies: [
                "BullMQ", "RedisClient", "TestProcesses",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "WhisperAPITests",
            dependencies: [
                "WhisperAPICore", "Storage", "Persistence", "SQLQueue", "RedisQueue", "Engine", "Server", "Services", "Webhooks", "Limits", "TestProcesses", "TerminalClient", "Worker", "WhisperCpp", "Telemetry",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
    ]
)
