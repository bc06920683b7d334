import Foundation
import OpenAPIKit

/// The OpenAPI 3.1 description of every route, served at `GET /openapi.json`, built from OpenAPIKit's typed
/// values. A test compares its paths and methods with the router's routes, so neither can change alone.
enum OpenAPIDocument {
    /// The document as served.
    static let json: String = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(document) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }()

    /// The document.
    static let document = OpenAPI.Document(
        openAPIVersion: .v3_1_0,
        info: .init(
            title: "WhisperAPI",
            description: "Self-hostable speech-to-text: the seed's REST API, OpenAI-compatible audio routes, live progress, signed webhooks, plans with rate limits and quotas, and an admin API. Every authenticated answer carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset; 429 answers (RATE_LIMITED, TOO_MANY_CONCURRENT_JOBS, QUOTA_EXCEEDED) carry Retry-After.",
            version: "1.0.0"),
        servers: [],
        paths: paths,
        components: APIComponents.all,
        security: [[.component(named: "bearer"): []], [.component(named: "session"): []]])

    private static var paths: OpenAPI.PathItem.Map {
        let all: Paths = servicePaths + transcriptionPaths + accountPaths + adminPaths + openAIPaths
        return ordered(all.map { path, item in (path, Either.b(item)) })
    }

    private typealias Paths = [(OpenAPI.Path, OpenAPI.PathItem)]

    private static let status = Schema.object(["status": .string])

    private static let servicePaths: Paths = [
        ("/health", .init(get: operation("Liveness", access: .open, answers: ok(Answer.json("Up", status))))),
        ("/ready", .init(get: operation(
            "Readiness: the database, the queue and the object store each answer within 2 s; a 503 names those that did not (in allowed)",
            access: .open, answers: ok(Answer.json("Ready", status)), errors: [503]))),
        ("/openapi.json", .init(get: operation("This document", access: .open, answers: ok(Answer.json("OpenAPI 3.1", .object))))),
        ("/metrics", .init(get: operation(
            "Prometheus metrics: HTTP requests, the queue's jobs by state and plan (read at each scrape), jobs, engines, webhooks, limits, uploads",
            access: .open,
            answers: ok(.init(description: "Prometheus text format 0.0.4", content: [Answer.media("text/plain"): .b(.init(schema: .string))]))))),
        ("/api/v1/files", .init(get: operation(
            "A stored object at a signed, expiring URL (local storage)", access: .open,
            parameters: ["key", "expires", "signature"].map { Parameter.query($0, .string, required: true) },
            answers: ok(.init(description: "The object", content: [Answer.media("application/octet-stream"): .b(.init(schema: Schema.binary)),
                                                                   .json: .b(.init(schema: .object))])),
            errors: [403, 404]))),
    ]

    private static let transcriptionPaths: Paths = [
        ("/api/v1/transcribe", .init(post: operation(
            "Upload audio (a file, or an audio_url the server downloads); it becomes a queued job with the plan's priority",
            body: Parameter.formOrJSON("UploadForm", json: "URLSubmission"),
            answers: ok(Answer.json("Queued", Schema.ref("SubmittedEnvelope")), status: 202), errors: [400, 401, 413, 415, 422, 503]))),
        ("/api/v1/transcribe/{id}", .init(delete: operation(
            "Cancel a queued or running transcription", parameters: [Parameter.id],
            answers: ok(Answer.json("Outcome", Schema.ref("CancelEnvelope"))), errors: [401, 404]))),
        ("/api/v1/status/{id}", .init(get: operation(
            "Status and progress", parameters: [Parameter.id],
            answers: ok(Answer.json("Status", Schema.ref("StatusEnvelope"))), errors: [401, 404]))),
        ("/api/v1/transcriptions", .init(get: operation(
            "Your transcriptions, newest first",
            parameters: [Parameter.query("status", Schema.ref("Status")),
                         Parameter.query("limit", .integer(maximum: (100, exclusive: false), minimum: (1, exclusive: false))),
                         Parameter.query("cursor", .string)],
            answers: ok(Answer.json("A page", Schema.ref("PageEnvelope"))), errors: [400, 401]))),
        ("/api/v1/transcriptions/{id}", .init(
            get: operation(
                "One transcription", parameters: [Parameter.id],
                answers: ok(Answer.json("The transcription", Schema.ref("TranscriptionEnvelope"))), errors: [401, 404]),
            delete: operation(
                "Delete the transcription with its job, audio, result and partial transcript at once (a running job is cancelled first)",
                parameters: [Parameter.id], answers: ok(OpenAPI.Response(description: "Deleted"), status: 204), errors: [401, 404]))),
        ("/api/v1/transcriptions/{id}/result", .init(get: operation(
            "The transcript in a format, or (redirect=1) the stored document at a short-lived URL",
            parameters: [Parameter.id, Parameter.query("format", Schema.ref("Format")), Parameter.query("redirect", Schema.oneOf("1", "true"))],
            answers: [
                200: .b(.init(description: "The transcript", content: [
                    .json: .b(.init(schema: .object)), .txt: .b(.init(schema: .string)),
                    Answer.media("application/x-subrip"): .b(.init(schema: .string)), Answer.media("text/vtt"): .b(.init(schema: .string)),
                ])),
                307: .b(.init(description: "Redirect to the stored result", headers: Answer.header("Location"))),
            ],
            errors: [400, 401, 404, 409, 410]))),
        ("/api/v1/transcriptions/{id}/events", .init(get: operation(
            "Server-Sent Events: queued, progress, completed | failed | cancelled",
            parameters: [Parameter.id, Parameter.lastEventID],
            answers: ok(.init(description: "An event stream; each event's data is the status",
                              content: [.eventStream: .b(.init(schema: Schema.ref("ProgressEvent")))])),
            errors: [401, 404]))),
        ("/api/v1/events", .init(get: operation(
            "Server-Sent Events for every change to any of the caller's transcriptions (queued, progress, completed, failed, cancelled); each event's id is the change's time in milliseconds, so a client reconnecting with Last-Event-ID gets what it missed",
            parameters: [Parameter.lastEventID],
            answers: ok(.init(description: "An event stream; each event's data is the transcription",
                              content: [.eventStream: .b(.init(schema: Schema.ref("UserEvent")))])),
            errors: [401]))),
        ("/api/v1/transcriptions/{id}/audio", .init(get: operation(
            "The uploaded audio, with HTTP range requests (206) so players can seek",
            parameters: [Parameter.id, .b(.header(name: "Range", schema: .string))],
            answers: [
                200: .b(.init(description: "The whole file", content: [.anyAudio: .b(.init(schema: Schema.binary))])),
                206: .b(.init(description: "The requested bytes", headers: Answer.header("Content-Range"),
                              content: [.anyAudio: .b(.init(schema: Schema.binary))])),
            ],
            errors: [401, 404, 410, 416]))),
        ("/api/v1/transcriptions/{id}/retry", .init(post: operation(
            "Queue a FAILED transcription again", parameters: [Parameter.id],
            answers: ok(Answer.json("Queued again", Schema.ref("SubmittedEnvelope"))), errors: [401, 404, 409, 410]))),
        ("/api/v1/transcriptions/{id}/webhooks", .init(get: operation(
            "Every webhook delivery attempt for a transcription, oldest first", parameters: [Parameter.id],
            answers: ok(Answer.json("The attempts", Schema.ref("AttemptsEnvelope"))), errors: [401, 404]))),
        ("/api/v1/batches", .init(get: operation(
            "Your batches, newest first, each with its items",
            parameters: [Parameter.query("limit", .integer(maximum: (100, exclusive: false), minimum: (1, exclusive: false))),
                         Parameter.query("cursor", .string)],
            answers: ok(Answer.json("A page", Schema.ref("BatchPageEnvelope"))), errors: [400, 401]), post: operation(
            "Submit several files and/or audio URLs with shared options: one transcription per item, each counted against the plan; the whole batch is refused up front when it cannot fit (422 BATCH_TOO_LARGE, 429 TOO_MANY_CONCURRENT_JOBS); one batch.completed webhook when every item has ended",
            body: Parameter.formOrJSON("BatchForm", json: "BatchURLs"),
            answers: ok(Answer.json("Queued", Schema.ref("BatchEnvelope")), status: 202), errors: [400, 401, 413, 415, 422, 429, 503]))),
        ("/api/v1/batches/{id}", .init(
            get: operation(
                "A batch: overall status and progress, counts by status, and each item", parameters: [Parameter.id],
                answers: ok(Answer.json("The batch", Schema.ref("BatchEnvelope"))), errors: [401, 404]),
            delete: operation(
                "Delete the batch and every item with its job, audio and result (running items are cancelled first)",
                parameters: [Parameter.id], answers: ok(OpenAPI.Response(description: "Deleted"), status: 204), errors: [401, 404]))),
        ("/api/v1/batches/{id}/result", .init(get: operation(
            "Every completed item's result (in format, or each item's own) and a manifest.json of every item, as one zip",
            parameters: [Parameter.id, Parameter.query("format", Schema.ref("Format"))],
            answers: ok(.init(description: "A zip archive", content: [Answer.media("application/zip"): .b(.init(schema: Schema.binary))])),
            errors: [400, 401, 404, 409]))),
    ]

    private static let accountPaths: Paths = [
        ("/auth/session", .init(
            get: operation(
                "The dashboard session of this browser: who is signed in, its CSRF token and the plan's limits (cookie auth)",
                access: .session, answers: ok(Answer.json("Signed in", Schema.ref("SessionEnvelope"))), errors: [401]),
            post: operation(
                "Sign in with an API key: answers with an HttpOnly, SameSite=Strict session cookie", access: .open,
                body: Parameter.json(Schema.object(["key": .string])),
                answers: ok(Answer.json("Signed in", Schema.ref("SessionEnvelope"), headers: Answer.header("Set-Cookie"))),
                errors: [400, 401, 403, 429]),
            delete: operation(
                "Sign out: the session ends on every API server (needs X-CSRF-Token)", access: .session,
                answers: ok(Answer.json("Signed out", .object)), errors: [401, 403]))),
        ("/api/v1/keys/current/webhook", .init(
            get: operation("The calling key's default webhook URL",
                           answers: ok(Answer.json("The setting", Schema.ref("WebhookSettingsEnvelope"))), errors: [401]),
            put: operation("Set (or with null clear) the calling key's default webhook URL",
                           body: Parameter.json(Schema.ref("WebhookSettings")),
                           answers: ok(Answer.json("The setting", Schema.ref("WebhookSettingsEnvelope"))), errors: [400, 401]))),
        ("/api/v1/keys/current/webhook/secret", .init(post: operation(
            "A new webhook signing secret for the calling key, shown this once",
            answers: ok(Answer.json("The secret", Schema.envelope(Schema.object(["secret": .string])))), errors: [401]))),
        ("/api/v1/usage", .init(get: operation(
            "Your metered audio this month and what is left of your plan's quota",
            answers: ok(Answer.json("Usage", Schema.ref("UsageEnvelope"))), errors: [401]))),
    ]

    private static let adminPaths: Paths = [
        ("/api/v1/admin/users", .init(
            get: operation("Every user (admin)", answers: ok(Answer.json("Users", Schema.ref("UsersEnvelope"))), errors: [401, 403]),
            post: operation(
                "Create a user (admin)",
                body: Parameter.json(Schema.object(["email": .string], optional: ["plan": Schema.ref("Plan"), "isAdmin": .boolean])),
                answers: ok(Answer.json("Created", Schema.ref("UserEnvelope")), status: 201), errors: [400, 401, 403, 409]))),
        ("/api/v1/admin/users/{user}", .init(
            get: operation("One user, by id or email (admin)", parameters: [Parameter.user],
                           answers: ok(Answer.json("The user", Schema.ref("UserEnvelope"))), errors: [401, 403, 404]),
            patch: operation("Change a user's plan (admin)", parameters: [Parameter.user],
                             body: Parameter.json(Schema.object(["plan": Schema.ref("Plan")])),
                             answers: ok(Answer.json("The user", Schema.ref("UserEnvelope"))), errors: [400, 401, 403, 404]))),
        ("/api/v1/admin/users/{user}/usage", .init(get: operation(
            "A user's usage this month (admin)", parameters: [Parameter.user],
            answers: ok(Answer.json("Usage", Schema.ref("UsageEnvelope"))), errors: [401, 403, 404]))),
        ("/api/v1/admin/users/{user}/keys", .init(
            get: operation("A user's keys, never their secrets (admin)", parameters: [Parameter.user],
                           answers: ok(Answer.json("Keys", Schema.ref("KeysEnvelope"))), errors: [401, 403, 404]),
            post: operation(
                "Create a key for a user; the key and its webhook secret are shown this once (admin)", parameters: [Parameter.user],
                body: Parameter.json(Schema.object(optional: ["name": .string]), required: false),
                answers: ok(Answer.json("The new key", Schema.envelope(Schema.object(["prefix": .string, "key": .string, "webhookSecret": .string]))),
                           status: 201),
                errors: [401, 403, 404]))),
        ("/api/v1/admin/users/{user}/data", .init(delete: operation(
            "Delete every transcription of a user with its job, audio and result; the user, keys and usage stay (admin)",
            parameters: [Parameter.user],
            answers: ok(Answer.json("How many", Schema.envelope(Schema.object(["deleted": .integer])))), errors: [401, 403, 404]))),
        ("/api/v1/admin/keys/{prefix}", .init(delete: operation(
            "Revoke a key by its display prefix; refused at once on every server (admin)",
            parameters: [.b(.path(name: "prefix", schema: .string))],
            answers: ok(Answer.json("Revoked", Schema.envelope(Schema.object(optional: ["revoked": .string])))), errors: [401, 403, 404]))),
        ("/api/v1/admin/queue", .init(get: operation(
            "Job counts by state (admin)",
            answers: ok(Answer.json("Counts", Schema.envelope(Schema.object(ordered(
                ["waiting", "active", "completed", "failed", "delayed", "cancelled"].map { ($0, JSONSchema.integer) }))))),
            errors: [401, 403]))),
        ("/api/v1/admin/queue/cleanup", .init(post: operation(
            "Remove finished jobs past their retention now (admin)",
            answers: ok(Answer.json("How many were removed", Schema.envelope(Schema.object(["removed": .integer])))), errors: [401, 403]))),
    ]

    private static let openAIPaths: Paths = [
        ("/v1/models", .init(get: operation(
            "Model names accepted (OpenAI)", openAI: true,
            answers: ok(Answer.json("Models", Schema.ref("ModelList"))), errors: [401]))),
        ("/v1/audio/transcriptions", .init(post: openAIAudio("Transcribe (OpenAI); waits for the job"))),
        ("/v1/audio/translations", .init(post: openAIAudio("Translate to English (OpenAI); waits for the job"))),
    ]

    private static func openAIAudio(_ summary: String) -> OpenAPI.Operation {
        operation(summary, openAI: true, body: Parameter.form("OpenAIForm"),
                  answers: [200: .reference(.component(named: "OpenAIResult"))], errors: [400, 401, 413, 415, 500])
    }
}
