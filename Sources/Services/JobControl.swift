import Foundation
import Persistence
import WhisperAPICore

/// What a client does to a submitted job: cancel it (the cancel route, a client that went away), queue a failed
/// one again, or delete it with everything stored of it.
public struct JobControl: Sendable {
    let transcriptions: TranscriptionRepository
    let queue: any TranscriptionQueue
    let storage: any ObjectStorage
    let batches: BatchRepository
    /// Ends a batch whose last running item is deleted.
    let batchCompletion: BatchCompletion

    public init(
        transcriptions: TranscriptionRepository, queue: any TranscriptionQueue, storage: any ObjectStorage, batches: BatchRepository,
        batchCompletion: BatchCompletion
    ) {
        self.transcriptions = transcriptions
        self.queue = queue
        self.storage = storage
        self.batches = batches
        self.batchCompletion = batchCompletion
    }

    /// Deletes a transcription at once: a running job is cancelled first, then the queue's job, the audio, the result
    /// and the row (with its partial transcript and webhook attempts) go. Usage records stay (they are what was billed).
    public func delete(_ row: Transcription) async throws {
        if !row.status.isTerminal { _ = try await cancel(row) }
        if let jobId = row.jobId { try await queue.removeJob(jobId) }
        try await storage.delete(key: row.audioKey)
        try await storage.delete(key: StorageKeys.result(user: row.userId.lowercasedString, transcription: row.id.lowercasedString))
        try await transcriptions.delete(id: row.id)
        try await batchCompletion.itemEnded(row)
    }

    /// Deletes a batch and every item of it, as `delete(_:)` does each (the batch first, so no webhook follows).
    public func delete(_ batch: Batch) async throws {
        let items = try await batches.items(of: batch.id)
        try await batches.delete(id: batch.id)
        for item in items { try await delete(item) }
    }

    /// Deletes every batch of a user, with their items.
    public func deleteBatches(of user: UUID) async throws {
        try await batches.deleteAll(owner: user)
    }

    /// Stops the row's job (removed from the queue, or its worker told to stop) and marks the row cancelled.
    /// Returns whether it was cancelled and the status the row has now.
    public func cancel(_ row: Transcription) async throws -> (cancelled: Bool, status: TranscriptionStatus) {
        guard !row.status.isTerminal, let jobId = row.jobId else { return (false, row.status) }
        if try await queue.cancelJob(jobId) {
            let updated = try await transcriptions.update(id: row.id) { $0.status = .cancelled; $0.clearPartial() }
            // Its webhook is queued by the status sync, from the queue's own cancel event.
            return (true, updated?.status ?? .cancelled)
        }
        return (false, try await transcriptions.find(id: row.id, owner: nil)?.status ?? row.status)
    }

    /// Puts a FAILED transcription's job back in the queue with its attempts counted afresh (the seed's retryFailedJob)
    /// and marks the row queued; returns its job id and the status the row has now. An item of an ended batch reopens
    /// it: the batch ends again, with another `batch.completed` webhook, when the item ends.
    /// 409 `NOT_FAILED` unless the row FAILED; 410 `JOB_GONE` when the queue no longer holds the job.
    public func retry(_ row: Transcription) async throws -> (jobId: String, status: TranscriptionStatus) {
        guard row.status == .failed, let jobId = row.jobId else {
            throw APIError(.notFailed, "only a FAILED transcription can be retried; this one is \(row.status.rawValue)")
        }
        guard try await queue.retryFailedJob(jobId) else {
            throw APIError(.jobGone, "the failed job is no longer in the queue; submit the audio again")
        }
        let updated = try await transcriptions.update(id: row.id) { row in
            row.status = .queued
            row.progress = 0
            row.errorMessage = nil
            row.completedAt = nil
            row.clearPartial()
            row.retryCount += 1
        }
        if let batchId = row.batchId { try await batches.reopen(id: batchId) }
        return (jobId, updated?.status ?? .queued)
    }
}
