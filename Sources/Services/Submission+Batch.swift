import Foundation
import Persistence
import Telemetry
import Tracing
import WhisperAPICore

/// Where a batch route puts its items' audio while it reads the request: each item gets its own object in storage,
/// and an item that would take the batch past what the plan allows is refused as it begins, before its bytes are read.
/// Used by one request at a time.
public final class BatchAudioSink: @unchecked Sendable {
    /// The largest one item may be.
    public let maxFileBytes: Int64
    /// How many of the user's transcriptions were queued or processing when the batch began.
    let active: Int
    let limits: PlanLimits
    let plan: Plan
    let storage: any ObjectStorage
    let user: UUID
    /// Every item begun so far, in order.
    private(set) var items: [Item] = []

    struct Item {
        let id: UUID
        let audioKey: String
        let writer: any ObjectWriter
        /// Set once the item's audio is complete.
        var audio: ReceivedAudio?
    }

    init(maxFileBytes: Int64, active: Int, limits: PlanLimits, plan: Plan, storage: any ObjectStorage, user: UUID) {
        self.maxFileBytes = maxFileBytes
        self.active = active
        self.limits = limits
        self.plan = plan
        self.storage = storage
        self.user = user
    }

    /// How many items were begun.
    public var count: Int { items.count }

    /// A writer for the next item's audio. 422 `BATCH_TOO_LARGE` once the batch holds more than the plan could ever run
    /// at once (or `Submission.maxBatchItems`); 429 `TOO_MANY_CONCURRENT_JOBS` when it only does not fit now.
    public func begin() async throws -> any ObjectWriter {
        let next = items.count + 1
        if next > Submission.maxBatchItems {
            throw APIError(.batchTooLarge, "a batch holds at most \(Submission.maxBatchItems) items")
        }
        if let refusal = PlanEnforcement.concurrencyRefusal(plan: plan, limits: limits, active: active, adding: next) { throw refusal }
        let id = UUID()
        let key = StorageKeys.audio(user: user, transcription: id)
        let writer = try await storage.makeWriter(key: key)
        items.append(Item(id: id, audioKey: key, writer: writer))
        return writer
    }

    /// The item begun last is complete: its object is made visible.
    public func end(_ audio: ReceivedAudio) async throws {
        guard let last = items.indices.last, items[last].audio == nil else { return }
        try await items[last].writer.finish()
        items[last].audio = audio
    }

    /// Removes everything stored for the batch (it was refused, or it repeated an earlier one).
    func discard() async {
        for item in items {
            if item.audio == nil {
                await item.writer.abort()
            } else {
                try? await storage.delete(key: item.audioKey)
            }
        }
    }
}

extension Submission {
    /// The most items one batch may hold, whatever the plan.
    public static let maxBatchItems = 100

    /// Submits a batch for `identity`: `receive` reads the request, putting each item's audio through the sink, and
    /// returns the options every item shares and, when an `idempotencyKey` is given, a fingerprint of the whole request.
    /// Each item is a transcription counted against the plan like a single submit; the batch goes in whole or not at
    /// all (refused with the reason, nothing stored). With an `idempotencyKey`, a repeated request answers the first
    /// batch.
    public func submitBatch(
        by identity: Identity, maxFileBytes: Int64, idempotencyKey: String? = nil,
        receive: (BatchAudioSink) async throws -> (request: SubmitRequest, fingerprint: String?)
    ) async throws -> (batch: Batch, items: [Transcription]) {
        try Self.checkIdempotencyKey(idempotencyKey)
        let user = identity.user
        let limits = plans.limits(for: user.plan)
        try await guardrails.checkQuota(user, limits: limits)
        let active = try await guardrails.checkConcurrency(user, limits: limits)
        try await checkQueueRoom(plan: user.plan, limits: limits)
        let sink = BatchAudioSink(
            maxFileBytes: min(maxFileBytes, limits.maxUploadBytes), active: active, limits: limits, plan: user.plan, storage: storage,
            user: user.id)
        let received: (request: SubmitRequest, fingerprint: String?)
        let options: SubmitOptions
        do {
            received = try await withSpan("upload batch") { span in
                let received = try await receive(sink)
                span.attributes["whisperapi.batch.items"] = sink.count
                return received
            }
            guard sink.count > 0 else {
                throw APIError(.emptyBatch, "a batch needs at least one item: 'file' parts or 'audio_url' values")
            }
            options = try await validated(received.request, for: identity, limits: limits)
        } catch {
            await sink.discard()
            throw error
        }
        let batch = Batch(
            userId: user.id, apiKeyId: identity.keyId, webhookURL: options.webhookURL ?? identity.defaultWebhookURL, createdAt: Date())
        // Items keep their order: each is a millisecond after the one before. They send no webhooks of their own.
        let items = sink.items.enumerated().map { index, item in
            options.transcription(
                id: item.id, audioKey: item.audioKey, audio: item.audio ?? ReceivedAudio(size: 0, filename: nil), by: identity,
                webhookURL: nil, batchId: batch.id, createdAt: batch.createdAt.addingTimeInterval(Double(index) / 1000))
        }
        let replayed: UUID?
        do {
            let idempotent = idempotencyKey.map { (key: $0, fingerprint: "batch:" + (received.fingerprint ?? "")) }
            replayed = try await withSpan("enqueue batch") { _ in
                try await enqueue(items, batch: batch, options: options, for: identity, limits: limits, idempotent: idempotent)
            }
        } catch {
            await sink.discard()
            throw error
        }
        guard let replayed else { return (batch, items) }
        await sink.discard()
        guard let first = try await batches.find(id: replayed, owner: user.id) else {
            throw APIError(.idempotencyKeyReused, "the batch this Idempotency-Key made has been deleted; use a new key")
        }
        return (first, try await batches.items(of: first.id))
    }
}
