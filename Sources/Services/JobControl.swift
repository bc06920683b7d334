import Foundation
import Persistence
import WhisperAPICore

/// What a client does to a submitted job: cancel it (the cancel route, a client that went away) or queue a failed
/// one again.
public struct JobControl: Sendable {
    let transcriptions: TranscriptionRepository
    let queue: any TranscriptionQueue

    public init(transcriptions: TranscriptionRepository, queue: any TranscriptionQueue) {
        self.transcriptions = transcriptions
        self.queue = queue
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
    /// and marks the row queued; returns its job id and the status the row has now.
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
        return (jobId, updated?.status ?? .queued)
    }
}
