import Foundation
import Persistence
import Telemetry
import Tracing
import Webhooks
import WhisperAPICore

/// What a client asks for when it submits audio, whatever route it came by (the native form, OpenAI's, the
/// dashboard's): the values as the client gave them. `Submission` validates them.
public struct SubmitRequest: Sendable, Equatable {
    public var model: String?
    public var format: String?
    public var language: String?
    public var task: String?
    public var prompt: String?
    public var wordTimestamps = false
    /// Only the text is wanted (OpenAI's `json` or `text`): segments may be coarse, which saves the engine work.
    public var textOnly = false
    public var webhookURL: String?

    public init(
        model: String? = nil, format: String? = nil, language: String? = nil, task: String? = nil, prompt: String? = nil,
        wordTimestamps: Bool = false, webhookURL: String? = nil
    ) {
        self.model = model
        self.format = format
        self.language = language
        self.task = task
        self.prompt = prompt
        self.wordTimestamps = wordTimestamps
        self.webhookURL = webhookURL
    }

    /// The native form's fields (`model`, `format` or `response_format`, `language`, `task`, `prompt`,
    /// `word_timestamps`, `webhook_url`); empty values count as absent.
    public init(fields: [String: String]) {
        func value(_ name: String) -> String? {
            fields[name].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        model = value("model")
        format = value("format") ?? value("response_format")
        language = value("language")
        task = value("task")
        prompt = value("prompt")
        wordTimestamps = ["true", "1", "yes"].contains(value("word_timestamps")?.lowercased() ?? "")
        webhookURL = value("webhook_url")
    }
}

/// The audio a route streamed into storage for a submission.
public struct ReceivedAudio: Sendable {
    public var size: Int64
    /// The name the client gave the file.
    public var filename: String?

    public init(size: Int64, filename: String?) {
        self.size = size
        self.filename = filename
    }
}

/// The submit use case, the same for every route: the plan's quota and concurrency are checked before any audio is
/// read; the route streams the audio into storage; the request is validated (known model, format, task and language,
/// a model of the plan, an allowed webhook target); then, under a per-user lock on every API server, the concurrency
/// is checked again, the transcription recorded and its job queued with the plan's priority. Whatever fails, nothing
/// half-done stays behind.
public struct Submission: Sendable {
    let transcriptions: TranscriptionRepository
    let queue: any TranscriptionQueue
    let storage: any ObjectStorage
    let locks: any NamedLock
    let plans: PlanPolicy
    let guardrails: PlanEnforcement
    let webhookTargets: WebhookTargetCheck

    public init(
        transcriptions: TranscriptionRepository, usage: UsageRepository, queue: any TranscriptionQueue, storage: any ObjectStorage,
        locks: any NamedLock, plans: PlanPolicy, allowPrivateWebhooks: Bool
    ) {
        self.transcriptions = transcriptions
        self.queue = queue
        self.storage = storage
        self.locks = locks
        self.plans = plans
        guardrails = PlanEnforcement(transcriptions: transcriptions, usage: usage)
        webhookTargets = WebhookTargetCheck(allowPrivate: allowPrivateWebhooks)
    }

    /// Submits audio for `identity`. `receive` streams the audio (at most the byte limit it is given) into the writer
    /// and returns the request that came with it, and anything else the route wants back (`Extra`).
    public func submit<Extra: Sendable>(
        by identity: Identity, maxFileBytes: Int64,
        receive: (any ObjectWriter, Int64) async throws -> (request: SubmitRequest, audio: ReceivedAudio, extra: Extra)
    ) async throws -> (transcription: Transcription, extra: Extra) {
        let limits = plans.limits(for: identity.user.plan)
        // Refused before the audio is read, so nothing is stored; checked again under the lock below.
        try await guardrails.checkQuota(identity.user, limits: limits)
        try await guardrails.checkConcurrency(identity.user, limits: limits)
        try await checkQueueRoom(plan: identity.user.plan, limits: limits)
        let id = UUID()
        let audioKey = StorageKeys.audio(user: identity.user.id, transcription: id)
        let writer = try await storage.makeWriter(key: audioKey)
        let received: (request: SubmitRequest, audio: ReceivedAudio, extra: Extra)
        let options: SubmitOptions
        do {
            received = try await withSpan("upload audio") { span in
                let received = try await receive(writer, min(maxFileBytes, limits.maxUploadBytes))
                span.attributes["whisperapi.upload.bytes"] = Int(received.audio.size)
                return received
            }
            options = try SubmitOptions(received.request)
            guard limits.allows(model: options.model) else {
                throw APIError(.modelNotInPlan, "the \(identity.user.plan.rawValue) plan cannot use model '\(options.model)'",
                    allowed: limits.models)
            }
            if let url = options.webhookURL { try await webhookTargets.check(url) }
            try await writer.finish()
        } catch {
            await writer.abort()
            throw error
        }
        let transcription = Transcription(
            id: id, userId: identity.user.id, jobId: id.lowercasedString, audioKey: audioKey,
            model: options.model, format: options.format, language: options.language, task: options.task,
            prompt: options.prompt, originalFilename: received.audio.filename.map { String($0.prefix(255)) }, fileSize: received.audio.size,
            apiKeyId: identity.keyId, webhookURL: options.webhookURL ?? identity.defaultWebhookURL)
        do {
            try await withSpan("enqueue job") { span in
                span.attributes["whisperapi.job.id"] = transcription.jobId ?? ""
                try await enqueue(transcription, options: options, plan: identity.user.plan, limits: limits, user: identity.user)
            }
        } catch {
            try? await storage.delete(key: audioKey)
            throw error
        }
        return (transcription, received.extra)
    }

    /// Backpressure: with as many jobs waiting as the queue allows (`QUEUE_MAX_WAITING`), or as the plan allows its own
    /// (`PLAN_<P>_MAX_WAITING`), a submission is refused with 503 `QUEUE_FULL` and a `Retry-After` before any audio is
    /// read. (Submissions at the same moment may pass the check together: the limit bounds the queue, not exactly.)
    func checkQueueRoom(plan: Plan, limits: PlanLimits) async throws {
        for (most, priority, whose) in [(plans.maxWaiting, nil, "the queue"), (limits.maxWaiting, plan.queuePriority, "the \(plan.rawValue) plan")] {
            guard let most else { continue }
            let waiting: Int
            do {
                waiting = try await queue.waitingCount(priority: priority)
            } catch {
                throw APIError(.queueUnavailable, "the queue is unavailable; try again shortly")
            }
            if waiting >= most {
                var error = APIError(.queueFull, "\(whose) has \(waiting) jobs waiting, its most; try again later")
                error.headers["Retry-After"] = "30"
                throw error
            }
        }
    }

    /// Records the transcription and queues its job: one step per user on every API server, so two submits at once
    /// cannot both take the last slot.
    func enqueue(_ transcription: Transcription, options: SubmitOptions, plan: Plan, limits: PlanLimits, user: User) async throws {
        let data = TranscriptionJobData(
            transcriptionId: transcription.id.lowercasedString, userId: transcription.userId.lowercasedString,
            s3AudioUrl: transcription.audioKey, model: options.model, format: options.format.rawValue, language: options.language,
            task: options.task.rawValue, prompt: options.prompt, wordTimestamps: options.wordTimestamps,
            textOnly: options.textOnly ? true : nil, traceparent: TraceContext.current())
        let transcriptions = self.transcriptions
        let queue = self.queue
        let guardrails = self.guardrails
        try await locks.withLock("submit:\(user.id.lowercasedString)") {
            try await guardrails.checkConcurrency(user, limits: limits)
            try await transcriptions.insert(transcription)
            do {
                _ = try await queue.addTranscriptionJob(data, priority: plan.queuePriority, jobId: transcription.jobId ?? "")
            } catch {
                try? await transcriptions.delete(id: transcription.id)
                throw APIError(.queueUnavailable, "the queue is unavailable; try again shortly")
            }
        }
    }
}

/// A submit's options, validated.
struct SubmitOptions: Equatable {
    var model: String
    var format: ResultFormat
    var language: String?
    var task: TranscriptionTask
    var prompt: String?
    var wordTimestamps: Bool
    /// Only the text is wanted: the request said so, or the format is plain text.
    var textOnly: Bool
    /// Where the end is reported (checked against the webhook target policy by `Submission`).
    var webhookURL: String?

    init(_ request: SubmitRequest) throws {
        guard let model = WhisperModels.resolve(request.model) else {
            throw APIError(.invalidModel, "unknown model '\(request.model ?? "")'", allowed: WhisperModels.accepted)
        }
        let formatText = request.format ?? ResultFormat.json.rawValue
        guard let format = ResultFormat(rawValue: formatText) else {
            throw APIError(.invalidFormat, "unknown format '\(formatText)'", allowed: ResultFormat.allCases.map(\.rawValue))
        }
        let taskText = request.task ?? TranscriptionTask.transcribe.rawValue
        guard let task = TranscriptionTask(rawValue: taskText) else {
            throw APIError(.invalidTask, "unknown task '\(taskText)'", allowed: TranscriptionTask.allCases.map(\.rawValue))
        }
        if task == .translate && !WhisperModels.multilingual.contains(model) {
            throw APIError(.invalidTask, "model '\(model)' is English-only; translate needs a multilingual model",
                allowed: Array(WhisperModels.multilingual))
        }
        if let language = request.language {
            guard (2...8).contains(language.count), language.allSatisfy({ $0.isLetter || $0 == "-" }) else {
                throw APIError(.invalidLanguage, "language must be a code such as 'en' or 'de'")
            }
        }
        if let prompt = request.prompt, prompt.count > 2000 {
            throw APIError(.invalidPrompt, "prompt must be at most 2000 characters")
        }
        self.model = model
        self.format = format
        self.language = request.language?.lowercased()
        self.task = task
        self.prompt = request.prompt
        self.wordTimestamps = request.wordTimestamps
        self.textOnly = (request.textOnly || format == .text) && !request.wordTimestamps
        self.webhookURL = request.webhookURL
    }
}

/// Refuses a webhook URL the target policy does not allow, as a 400 `INVALID_WEBHOOK_URL`.
public struct WebhookTargetCheck: Sendable {
    let allowPrivate: Bool

    public init(allowPrivate: Bool) {
        self.allowPrivate = allowPrivate
    }

    public func check(_ url: String) async throws {
        do {
            try await OutboundTargetPolicy(allowPrivate: allowPrivate, field: "webhook_url").check(url)
        } catch let refused as OutboundTargetRefused {
            throw APIError(.invalidWebhookURL, refused.description)
        }
    }
}
