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
    /// `vad_filter` as given: decode only the speech (Silero VAD), skipping silence; nil: the default, on.
    public var vadFilter: String?
    /// `diarize`, `speakers`, `min_speakers` and `max_speakers` as given, and the known speakers' names.
    public var diarize: String?
    public var speakers: String?
    public var minSpeakers: String?
    public var maxSpeakers: String?
    public var knownSpeakerNames: [String] = []

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
    /// `word_timestamps`, `webhook_url`, `vad_filter`, `diarize`, `speakers`, `min_speakers`, `max_speakers`,
    /// `known_speaker_names[]`); empty values count as absent.
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
        vadFilter = value("vad_filter")
        diarize = value("diarize")
        speakers = value("speakers")
        minSpeakers = value("min_speakers")
        maxSpeakers = value("max_speakers")
        // Repeated fields arrive joined by commas.
        knownSpeakerNames = (value("known_speaker_names[]") ?? value("known_speaker_names") ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// The audio a route streamed into storage for a submission.
public struct ReceivedAudio: Sendable {
    public var size: Int64
    /// The name the client gave the file.
    public var filename: String?
    /// SHA-256 (hex) over the audio's bytes and the request's fields: what an `Idempotency-Key` is compared by.
    public var fingerprint: String?

    public init(size: Int64, filename: String?, fingerprint: String? = nil) {
        self.size = size
        self.filename = filename
        self.fingerprint = fingerprint
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
    let idempotency: IdempotencyRepository
    let batches: BatchRepository
    let diarization: any DiarizationCapability
    /// How long an `Idempotency-Key` names its first request.
    public static let idempotencyWindow: TimeInterval = 24 * 3600

    public init(
        transcriptions: TranscriptionRepository, usage: UsageRepository, queue: any TranscriptionQueue, storage: any ObjectStorage,
        locks: any NamedLock, plans: PlanPolicy, allowPrivateWebhooks: Bool, idempotency: IdempotencyRepository,
        batches: BatchRepository, diarization: any DiarizationCapability
    ) {
        self.diarization = diarization
        self.idempotency = idempotency
        self.batches = batches
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
    ///
    /// With an `idempotencyKey`, the same key and the same request (`ReceivedAudio.fingerprint`) within 24 h answer the
    /// transcription the first request made, and nothing new is stored or queued; the same key with another request
    /// is 422 `IDEMPOTENCY_KEY_REUSED`.
    public func submit<Extra: Sendable>(
        by identity: Identity, maxFileBytes: Int64, idempotencyKey: String? = nil,
        receive: (any ObjectWriter, Int64) async throws -> (request: SubmitRequest, audio: ReceivedAudio, extra: Extra)
    ) async throws -> (transcription: Transcription, extra: Extra) {
        try Self.checkIdempotencyKey(idempotencyKey)
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
            options = try await validated(received.request, for: identity, limits: limits)
            try await writer.finish()
        } catch {
            await writer.abort()
            throw error
        }
        let transcription = options.transcription(
            id: id, audioKey: audioKey, audio: received.audio, by: identity, webhookURL: options.webhookURL ?? identity.defaultWebhookURL)
        let replayed: UUID?
        do {
            let idempotent = idempotencyKey.map { (key: $0, fingerprint: received.audio.fingerprint ?? "") }
            replayed = try await withSpan("enqueue job") { span in
                span.attributes["whisperapi.job.id"] = transcription.jobId ?? ""
                return try await enqueue([transcription], options: options, for: identity, limits: limits, idempotent: idempotent)
            }
        } catch {
            try? await storage.delete(key: audioKey)
            throw error
        }
        guard let replayed else { return (transcription, received.extra) }
        // A repeated request: the first one's transcription, and nothing of this one kept.
        try? await storage.delete(key: audioKey)
        guard let first = try await transcriptions.find(id: replayed, owner: identity.user.id) else {
            throw APIError(.idempotencyKeyReused, "the transcription this Idempotency-Key made has been deleted; use a new key")
        }
        return (first, received.extra)
    }

    /// 400 `INVALID_IDEMPOTENCY_KEY` unless the key is 1 to 255 visible ASCII characters.
    static func checkIdempotencyKey(_ key: String?) throws {
        if let key, !(1...255).contains(key.utf8.count) || !key.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) {
            throw APIError(.invalidIdempotencyKey, "Idempotency-Key must be 1 to 255 visible ASCII characters")
        }
    }

    /// The request's options, validated, for a model of the user's plan and an allowed webhook target.
    func validated(_ request: SubmitRequest, for identity: Identity, limits: PlanLimits) async throws -> SubmitOptions {
        let options = try SubmitOptions(request)
        guard limits.allows(model: options.model) else {
            throw APIError(.modelNotInPlan, "the \(identity.user.plan.rawValue) plan cannot use model '\(options.model)'",
                allowed: limits.models)
        }
        if let url = options.webhookURL { try await webhookTargets.check(url) }
        if options.diarization != nil, await !diarization.available() {
            throw APIError(.diarizationUnavailable, "no worker of this deployment can diarize speakers; install it with WITH_DIARIZATION=1 make setup")
        }
        return options
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

    /// Records the transcriptions (and the batch they make, if any) and queues their jobs: one step per user on every
    /// API server, so two submits at once cannot both take the last slots, and two with one idempotency key make one
    /// submission. All of them go in, or none (what went in is taken out again). Returns the id of the transcription
    /// or batch an earlier request with the same key made (then nothing is recorded or queued).
    func enqueue(
        _ items: [Transcription], batch: Batch? = nil, options: SubmitOptions, for identity: Identity, limits: PlanLimits,
        idempotent: (key: String, fingerprint: String)?
    ) async throws -> UUID? {
        let user = identity.user
        let jobs = items.map { item in
            TranscriptionJobData(
                transcriptionId: item.id.lowercasedString, userId: item.userId.lowercasedString,
                s3AudioUrl: item.audioKey, model: options.model, format: options.format.rawValue, language: options.language,
                task: options.task.rawValue, prompt: options.prompt, wordTimestamps: options.wordTimestamps,
                textOnly: options.textOnly ? true : nil, vadFilter: options.vadFilter ? nil : false, diarize: options.diarization,
                traceparent: TraceContext.current())
        }
        let transcriptions = self.transcriptions
        let batches = self.batches
        let queue = self.queue
        let guardrails = self.guardrails
        let idempotency = self.idempotency
        return try await locks.withLock("submit:\(user.id.lowercasedString)") { () -> UUID? in
            if let idempotent {
                let since = Date().addingTimeInterval(-Self.idempotencyWindow)
                if let first = try await idempotency.find(userId: user.id, key: idempotent.key, since: since) {
                    guard first.fingerprint == idempotent.fingerprint else {
                        throw APIError(.idempotencyKeyReused, "this Idempotency-Key was used in the last 24 hours with a different request")
                    }
                    return first.transcriptionId
                }
            }
            try await guardrails.checkConcurrency(user, limits: limits, adding: items.count)
            var inserted: [UUID] = []
            var queued: [String] = []
            var recordedKey = false
            do {
                if let batch { try await batches.insert(batch) }
                for item in items {
                    try await transcriptions.insert(item)
                    inserted.append(item.id)
                }
                if let idempotent, let first = items.first {
                    try await idempotency.record(IdempotencyRecord(
                        userId: user.id, key: idempotent.key, fingerprint: idempotent.fingerprint, transcriptionId: batch?.id ?? first.id,
                        createdAt: Date()))
                    recordedKey = true
                }
                do {
                    for (item, job) in zip(items, jobs) {
                        _ = try await queue.addTranscriptionJob(job, priority: user.plan.queuePriority, jobId: item.jobId ?? "")
                        queued.append(item.jobId ?? "")
                    }
                } catch {
                    throw APIError(.queueUnavailable, "the queue is unavailable; try again shortly")
                }
            } catch {
                for jobId in queued { try? await queue.removeJob(jobId) }
                if recordedKey, let idempotent { try? await idempotency.forget(userId: user.id, key: idempotent.key) }
                for id in inserted { try? await transcriptions.delete(id: id) }
                if let batch { try? await batches.delete(id: batch.id) }
                throw error
            }
            return nil
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
    /// Decode only the speech the VAD finds (the default); false decodes every 30 s of the audio, silence included.
    var vadFilter: Bool
    /// Where the end is reported (checked against the webhook target policy by `Submission`).
    var webhookURL: String?
    /// Speaker diarization, when asked (`diarize`, a speaker count or bound, or the `diarized_json` format).
    var diarization: DiarizationOptions?

    init(_ request: SubmitRequest) throws {
        guard let model = WhisperModels.resolve(request.model) else {
            throw APIError(.invalidModel, "unknown model '\(request.model ?? "")'", allowed: WhisperModels.accepted)
        }
        let formatText = request.format ?? ResultFormat.json.rawValue
        guard let format = ResultFormat(named: formatText) else {
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
        let vadText = request.vadFilter?.lowercased() ?? "true"
        guard let vadFilter = ["true": true, "1": true, "false": false, "0": false][vadText] else {
            throw APIError(.invalidVADFilter, "vad_filter must be true or false", allowed: ["true", "false"])
        }
        self.vadFilter = vadFilter
        self.model = model
        self.format = format
        self.language = request.language?.lowercased()
        self.task = task
        self.prompt = request.prompt
        self.wordTimestamps = request.wordTimestamps
        self.webhookURL = request.webhookURL
        diarization = try Self.diarization(request, format: format)
        // Speakers are laid over words: a diarized job's segments are cut at sentences whatever its format.
        self.textOnly = (request.textOnly || format == .text) && !request.wordTimestamps && diarization == nil
    }

    /// The request's diarization: asked by `diarize=true`, by a speaker count or bound, or by `diarized_json`.
    static func diarization(_ request: SubmitRequest, format: ResultFormat) throws -> DiarizationOptions? {
        var asked = format == .diarizedJSON
        if let text = request.diarize?.lowercased() {
            guard let value = ["true": true, "1": true, "false": false, "0": false][text] else {
                throw APIError(.invalidDiarize, "diarize must be true or false", allowed: ["true", "false"])
            }
            asked = asked || value
        }
        func count(_ text: String?, _ field: String) throws -> Int? {
            guard let text else { return nil }
            guard let value = Int(text), (1...DiarizationOptions.mostSpeakers).contains(value) else {
                throw APIError(.invalidSpeakers, "\(field) must be a whole number from 1 to \(DiarizationOptions.mostSpeakers)")
            }
            asked = true
            return value
        }
        let options = DiarizationOptions(
            speakers: try count(request.speakers, "speakers"), minSpeakers: try count(request.minSpeakers, "min_speakers"),
            maxSpeakers: try count(request.maxSpeakers, "max_speakers"),
            names: request.knownSpeakerNames.isEmpty ? nil : request.knownSpeakerNames)
        if let low = options.minSpeakers, let high = options.maxSpeakers, low > high {
            throw APIError(.invalidSpeakers, "min_speakers (\(low)) is more than max_speakers (\(high))")
        }
        if let names = options.names {
            guard names.count <= DiarizationOptions.mostSpeakers, names.allSatisfy({ $0.count <= 64 }) else {
                throw APIError(.invalidSpeakers, "known_speaker_names[] takes at most \(DiarizationOptions.mostSpeakers) names of up to 64 characters")
            }
            asked = true
        }
        return asked ? options : nil
    }
}

extension SubmitOptions {
    /// A new queued transcription of `audio` with these options (its job id is its id).
    func transcription(
        id: UUID, audioKey: String, audio: ReceivedAudio, by identity: Identity, webhookURL: String?, batchId: UUID? = nil,
        createdAt: Date = Date()
    ) -> Transcription {
        Transcription(
            id: id, userId: identity.user.id, jobId: id.lowercasedString, audioKey: audioKey,
            model: model, format: format, language: language, task: task, prompt: prompt,
            originalFilename: audio.filename.map { String($0.prefix(255)) }, fileSize: audio.size, createdAt: createdAt,
            apiKeyId: identity.keyId, webhookURL: webhookURL, batchId: batchId)
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
