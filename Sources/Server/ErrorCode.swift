import Hummingbird
import WhisperAPICore

/// Every error code the API answers with, each with the status it is answered with: a code means one thing wherever
/// it is used. (The engine's own failure codes, such as `INVALID_AUDIO`, come through `transcriptionFailure(_:)`.)
public struct ErrorCode: Hashable, Sendable, CustomStringConvertible {
    /// The code as clients see it (`INVALID_MODEL`).
    public let rawValue: String
    public let status: HTTPResponse.Status

    init(_ rawValue: String, _ status: HTTPResponse.Status) {
        self.rawValue = rawValue
        self.status = status
    }

    public var description: String { rawValue }

    public static func == (lhs: ErrorCode, rhs: ErrorCode) -> Bool { lhs.rawValue == rhs.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    /// A job's failure as an answer: the request's or its audio's fault is a 400, anything else a 500.
    static func transcriptionFailure(_ failure: TranscriptionFailure) -> ErrorCode {
        ErrorCode(failure.code, failure.isClientError ? .badRequest : .internalServerError)
    }

    public static let audioMissing = ErrorCode("AUDIO_MISSING", .gone)
    public static let badRequest = ErrorCode("BAD_REQUEST", .badRequest)
    public static let crossSiteRequest = ErrorCode("CROSS_SITE_REQUEST", .forbidden)
    public static let csrfTokenInvalid = ErrorCode("CSRF_TOKEN_INVALID", .forbidden)
    public static let databaseUnavailable = ErrorCode("DATABASE_UNAVAILABLE", .serviceUnavailable)
    public static let emailTaken = ErrorCode("EMAIL_TAKEN", .conflict)
    public static let emptyFile = ErrorCode("EMPTY_FILE", .badRequest)
    public static let fieldTooLarge = ErrorCode("FIELD_TOO_LARGE", .badRequest)
    public static let fileTooLarge = ErrorCode("FILE_TOO_LARGE", .contentTooLarge)
    public static let forbidden = ErrorCode("FORBIDDEN", .forbidden)
    public static let internalError = ErrorCode("INTERNAL_ERROR", .internalServerError)
    public static let invalidAPIKey = ErrorCode("INVALID_API_KEY", .unauthorized)
    public static let invalidBody = ErrorCode("INVALID_BODY", .badRequest)
    public static let invalidCursor = ErrorCode("INVALID_CURSOR", .badRequest)
    public static let invalidEmail = ErrorCode("INVALID_EMAIL", .badRequest)
    public static let invalidFormat = ErrorCode("INVALID_FORMAT", .badRequest)
    public static let invalidLanguage = ErrorCode("INVALID_LANGUAGE", .badRequest)
    public static let invalidLimit = ErrorCode("INVALID_LIMIT", .badRequest)
    public static let invalidModel = ErrorCode("INVALID_MODEL", .badRequest)
    public static let invalidMultipart = ErrorCode("INVALID_MULTIPART", .badRequest)
    public static let invalidPlan = ErrorCode("INVALID_PLAN", .badRequest)
    public static let invalidPrompt = ErrorCode("INVALID_PROMPT", .badRequest)
    public static let invalidSignature = ErrorCode("INVALID_SIGNATURE", .forbidden)
    public static let invalidStatus = ErrorCode("INVALID_STATUS", .badRequest)
    public static let invalidStream = ErrorCode("INVALID_STREAM", .badRequest)
    public static let invalidTask = ErrorCode("INVALID_TASK", .badRequest)
    public static let invalidTimestampGranularities = ErrorCode("INVALID_TIMESTAMP_GRANULARITIES", .badRequest)
    public static let invalidWebhookURL = ErrorCode("INVALID_WEBHOOK_URL", .badRequest)
    public static let jobGone = ErrorCode("JOB_GONE", .gone)
    public static let keyNotFound = ErrorCode("KEY_NOT_FOUND", .notFound)
    public static let limitsUnavailable = ErrorCode("LIMITS_UNAVAILABLE", .serviceUnavailable)
    public static let malformedRequest = ErrorCode("MALFORMED_REQUEST", .badRequest)
    public static let methodNotAllowed = ErrorCode("METHOD_NOT_ALLOWED", .methodNotAllowed)
    public static let missingFile = ErrorCode("MISSING_FILE", .badRequest)
    public static let modelNotInPlan = ErrorCode("MODEL_NOT_IN_PLAN", .forbidden)
    public static let notFailed = ErrorCode("NOT_FAILED", .conflict)
    public static let notFound = ErrorCode("NOT_FOUND", .notFound)
    public static let resultNotReady = ErrorCode("NOT_READY", .conflict)
    public static let noSession = ErrorCode("NO_SESSION", .unauthorized)
    public static let payloadTooLarge = ErrorCode("PAYLOAD_TOO_LARGE", .contentTooLarge)
    public static let queueUnavailable = ErrorCode("QUEUE_UNAVAILABLE", .serviceUnavailable)
    public static let quotaExceeded = ErrorCode("QUOTA_EXCEEDED", .tooManyRequests)
    public static let rangeNotSatisfiable = ErrorCode("RANGE_NOT_SATISFIABLE", .rangeNotSatisfiable)
    public static let rateLimited = ErrorCode("RATE_LIMITED", .tooManyRequests)
    public static let resultMissing = ErrorCode("RESULT_MISSING", .gone)
    public static let serviceNotReady = ErrorCode("SERVICE_NOT_READY", .serviceUnavailable)
    public static let sessionExpired = ErrorCode("SESSION_EXPIRED", .unauthorized)
    public static let storageUnavailable = ErrorCode("STORAGE_UNAVAILABLE", .serviceUnavailable)
    public static let timeout = ErrorCode("TIMEOUT", .gatewayTimeout)
    public static let tooManyConcurrentJobs = ErrorCode("TOO_MANY_CONCURRENT_JOBS", .tooManyRequests)
    public static let transcriptionFailed = ErrorCode("TRANSCRIPTION_FAILED", .internalServerError)
    public static let unauthorized = ErrorCode("UNAUTHORIZED", .unauthorized)
    public static let unsupportedMediaType = ErrorCode("UNSUPPORTED_MEDIA_TYPE", .unsupportedMediaType)
    public static let urlExpired = ErrorCode("URL_EXPIRED", .forbidden)
    public static let userNotFound = ErrorCode("USER_NOT_FOUND", .notFound)
}
