
/// Every error code the API answers with, each with the status it is answered with: a code means one thing wherever
/// it is used. (The engine's own failure codes, such as `INVALID_AUDIO`, come through `transcriptionFailure(_:)`.)
public struct ErrorCode: Hashable, Sendable, CustomStringConvertible {
    /// The code as clients see it (`INVALID_MODEL`).
    public let rawValue: String
    /// The HTTP status it is answered with.
    public let status: Int

    init(_ rawValue: String, _ status: Int) {
        self.rawValue = rawValue
        self.status = status
    }

    public var description: String { rawValue }

    public static func == (lhs: ErrorCode, rhs: ErrorCode) -> Bool { lhs.rawValue == rhs.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    /// A job's failure as an answer: the request's or its audio's fault is a 400, anything else a 500.
    public static func transcriptionFailure(_ failure: TranscriptionFailure) -> ErrorCode {
        ErrorCode(failure.code, failure.isClientError ? 400 : 500)
    }

    public static let audioMissing = ErrorCode("AUDIO_MISSING", 410)
    /// An `audio_url` that could not be downloaded: the server's status, a timeout, too many redirects.
    public static let audioURLUnreachable = ErrorCode("AUDIO_URL_UNREACHABLE", 422)
    public static let badRequest = ErrorCode("BAD_REQUEST", 400)
    /// A batch with more items than the plan could ever run at once, or than `BATCH_MAX_ITEMS`.
    public static let batchTooLarge = ErrorCode("BATCH_TOO_LARGE", 422)
    public static let crossSiteRequest = ErrorCode("CROSS_SITE_REQUEST", 403)
    public static let csrfTokenInvalid = ErrorCode("CSRF_TOKEN_INVALID", 403)
    public static let databaseUnavailable = ErrorCode("DATABASE_UNAVAILABLE", 503)
    public static let diarizationUnavailable = ErrorCode("DIARIZATION_UNAVAILABLE", 422)
    public static let emailTaken = ErrorCode("EMAIL_TAKEN", 409)
    public static let emptyBatch = ErrorCode("EMPTY_BATCH", 400)
    public static let emptyFile = ErrorCode("EMPTY_FILE", 400)
    /// A transcription past its plan's result retention: its result and audio are deleted.
    public static let expired = ErrorCode("EXPIRED", 410)
    public static let fieldTooLarge = ErrorCode("FIELD_TOO_LARGE", 400)
    public static let fileTooLarge = ErrorCode("FILE_TOO_LARGE", 413)
    public static let forbidden = ErrorCode("FORBIDDEN", 403)
    public static let internalError = ErrorCode("INTERNAL_ERROR", 500)
    public static let invalidAPIKey = ErrorCode("INVALID_API_KEY", 401)
    /// An `audio_url` that is not an http(s) URL, or that leads to an internal address.
    public static let invalidAudioURL = ErrorCode("INVALID_AUDIO_URL", 400)
    public static let invalidBody = ErrorCode("INVALID_BODY", 400)
    public static let invalidVADFilter = ErrorCode("INVALID_VAD_FILTER", 400)
    public static let invalidChunkingStrategy = ErrorCode("INVALID_CHUNKING_STRATEGY", 400)
    public static let invalidIdempotencyKey = ErrorCode("INVALID_IDEMPOTENCY_KEY", 400)
    /// An `Idempotency-Key` used again within 24 h with a different request.
    public static let idempotencyKeyReused = ErrorCode("IDEMPOTENCY_KEY_REUSED", 422)
    public static let invalidCursor = ErrorCode("INVALID_CURSOR", 400)
    public static let invalidDiarize = ErrorCode("INVALID_DIARIZE", 400)
    public static let invalidEmail = ErrorCode("INVALID_EMAIL", 400)
    public static let invalidFormat = ErrorCode("INVALID_FORMAT", 400)
    public static let invalidLanguage = ErrorCode("INVALID_LANGUAGE", 400)
    public static let invalidLimit = ErrorCode("INVALID_LIMIT", 400)
    public static let invalidModel = ErrorCode("INVALID_MODEL", 400)
    public static let invalidMultipart = ErrorCode("INVALID_MULTIPART", 400)
    public static let invalidPlan = ErrorCode("INVALID_PLAN", 400)
    public static let invalidPrompt = ErrorCode("INVALID_PROMPT", 400)
    public static let invalidSignature = ErrorCode("INVALID_SIGNATURE", 403)
    public static let invalidSpeakers = ErrorCode("INVALID_SPEAKERS", 400)
    public static let invalidStatus = ErrorCode("INVALID_STATUS", 400)
    public static let invalidStream = ErrorCode("INVALID_STREAM", 400)
    public static let invalidTask = ErrorCode("INVALID_TASK", 400)
    public static let invalidTimestampGranularities = ErrorCode("INVALID_TIMESTAMP_GRANULARITIES", 400)
    public static let invalidWebhookURL = ErrorCode("INVALID_WEBHOOK_URL", 400)
    public static let jobGone = ErrorCode("JOB_GONE", 410)
    public static let keyNotFound = ErrorCode("KEY_NOT_FOUND", 404)
    public static let limitsUnavailable = ErrorCode("LIMITS_UNAVAILABLE", 503)
    public static let malformedRequest = ErrorCode("MALFORMED_REQUEST", 400)
    public static let methodNotAllowed = ErrorCode("METHOD_NOT_ALLOWED", 405)
    public static let missingFile = ErrorCode("MISSING_FILE", 400)
    public static let modelNotInPlan = ErrorCode("MODEL_NOT_IN_PLAN", 403)
    public static let notFailed = ErrorCode("NOT_FAILED", 409)
    public static let notFound = ErrorCode("NOT_FOUND", 404)
    public static let resultNotReady = ErrorCode("NOT_READY", 409)
    public static let noSession = ErrorCode("NO_SESSION", 401)
    public static let payloadTooLarge = ErrorCode("PAYLOAD_TOO_LARGE", 413)
    public static let queueFull = ErrorCode("QUEUE_FULL", 503)
    public static let queueUnavailable = ErrorCode("QUEUE_UNAVAILABLE", 503)
    public static let quotaExceeded = ErrorCode("QUOTA_EXCEEDED", 429)
    public static let rangeNotSatisfiable = ErrorCode("RANGE_NOT_SATISFIABLE", 416)
    public static let rateLimited = ErrorCode("RATE_LIMITED", 429)
    public static let resultMissing = ErrorCode("RESULT_MISSING", 410)
    public static let serviceNotReady = ErrorCode("SERVICE_NOT_READY", 503)
    public static let sessionExpired = ErrorCode("SESSION_EXPIRED", 401)
    public static let storageUnavailable = ErrorCode("STORAGE_UNAVAILABLE", 503)
    public static let timeout = ErrorCode("TIMEOUT", 504)
    public static let tooManyConcurrentJobs = ErrorCode("TOO_MANY_CONCURRENT_JOBS", 429)
    public static let transcriptionFailed = ErrorCode("TRANSCRIPTION_FAILED", 500)
    public static let unauthorized = ErrorCode("UNAUTHORIZED", 401)
    public static let unsupportedMediaType = ErrorCode("UNSUPPORTED_MEDIA_TYPE", 415)
    public static let urlExpired = ErrorCode("URL_EXPIRED", 403)
    public static let userNotFound = ErrorCode("USER_NOT_FOUND", 404)
}
