import Engine
import Foundation
import Hummingbird
import Persistence
import Services
import WhisperAPICore

/// Batches: several files and URLs submitted with one call, their status together, and their results as one zip.
extension TranscriptionRoutes {
    func registerBatches(on group: RouterGroup<AppRequestContext>) {
        group.post("batches", use: submitBatch)
        group.get("batches", use: listBatches)
        group.get("batches/:id", use: batchStatus)
        group.get("batches/:id/result", use: batchResult)
        group.delete("batches/:id", use: deleteBatch)
    }

    /// 202 with the batch and one queued transcription per item, in the order they were sent.
    @Sendable func submitBatch(_ request: Request, context: AppRequestContext) async throws -> some ResponseGenerator {
        let (batch, items) = try await submission.submitBatch(
            by: try context.requireIdentity(), maxFileBytes: maxUploadBytes, idempotencyKey: request.idempotencyKey
        ) { sink in
            try await BatchReceiver(fetcher: fetcher).receive(request, into: sink)
        }
        context.logger.info("batch queued", metadata: ["batchId": .string(batch.id.lowercasedString), "items": .stringConvertible(items.count)])
        return Success.with(.accepted, BatchDTO(batch, items: items))
    }

    /// The caller's batches, newest first, each with its items; `limit` and `cursor` as for transcriptions.
    @Sendable func listBatches(_ request: Request, context: AppRequestContext) async throws -> Success<PageDTO<BatchDTO>> {
        let identity = try context.requireIdentity()
        let page = try PageRequest(request)
        let found = try await batches.list(owner: identity.user.id, limit: page.limit + 1, after: page.cursor)
        let items = try await batches.items(of: found.prefix(page.limit).map(\.id))
        return Success(page.answer(found, createdAt: \.createdAt, id: \.id) { BatchDTO($0, items: items[$0.id] ?? []) })
    }

    /// The caller's batch named by the `:id` path parameter, with its items; 404 for another user's.
    func ownedBatch(_ context: AppRequestContext) async throws -> (Batch, [Transcription]) {
        let identity = try context.requireIdentity()
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text),
              let batch = try await batches.find(id: id, owner: identity.user.id)
        else { throw APIError.notFound }
        return (batch, try await batches.items(of: batch.id))
    }

    @Sendable func batchStatus(_ request: Request, context: AppRequestContext) async throws -> Success<BatchDTO> {
        let (batch, items) = try await ownedBatch(context)
        return Success(BatchDTO(batch, items: items))
    }

    /// Every completed item's result in `format` (default: each item's own), and a `manifest.json` of every item, as
    /// one zip. 409 `NOT_READY` while items are still queued or running.
    @Sendable func batchResult(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (batch, items) = try await ownedBatch(context)
        let format = try request.requestedFormat()
        let tally = BatchTally(items)
        guard tally.status == .completed else {
            throw APIError(.resultNotReady, "the batch is \(tally.status.rawValue): \(tally.counts[.completed] ?? 0) of \(items.count) items are done")
        }
        let results = StoredResults(storage: storage)
        var archive = ZipArchive()
        var manifest: [BatchItemSummary] = []
        for (index, item) in items.enumerated() {
            var entry = BatchItemSummary(item)
            let itemFormat = format ?? item.format
            if item.status == .completed, let transcript = try await results.transcript(of: item) {
                let name = Self.entryName(index: index, item: item, format: itemFormat)
                archive.add(name, Array(ResultRenderer.render(transcript, as: itemFormat).body.utf8))
                entry.file = name
            }
            manifest.append(entry)
        }
        archive.add("manifest.json", Array(try Self.manifestEncoder.encode(manifest)))
        let zip = archive.finished()
        return Response(
            status: .ok,
            headers: [.contentType: "application/zip", .contentDisposition: "attachment; filename=\"batch-\(batch.id.lowercasedString).zip\""],
            body: .init(byteBuffer: ByteBuffer(bytes: zip)))
    }

    /// Deletes the batch and every item of it, as deleting each would: 204.
    @Sendable func deleteBatch(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (batch, _) = try await ownedBatch(context)
        try await jobControl.delete(batch)
        return Response(status: .noContent)
    }

    static let manifestEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// `01-meeting.srt`: the item's position (so names never collide and keep the order) and its file's name, reduced
    /// to safe characters, with the format's extension.
    static func entryName(index: Int, item: Transcription, format: ResultFormat) -> String {
        let given = (item.originalFilename as NSString?)?.deletingPathExtension ?? ""
        let safe = String(given.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" }.prefix(80))
        let stem = safe.isEmpty ? item.id.lowercasedString : safe
        return String(format: "%02d-", index + 1) + stem + "." + format.fileExtension
    }
}

/// A batch as the API shows it: where it stands overall, and each item.
struct BatchDTO: Encodable {
    let id: String
    let status: BatchStatus
    let progress: Int
    let total: Int
    /// Items by status, every status present.
    let counts: [String: Int]
    let createdAt: Date
    let completedAt: Date?
    let resultUrl: String?
    let items: [BatchItemSummary]

    init(_ batch: Batch, items: [Transcription]) {
        let tally = BatchTally(items)
        id = batch.id.lowercasedString
        status = tally.status
        progress = tally.progress
        total = items.count
        counts = tally.countsByName
        createdAt = batch.createdAt
        completedAt = batch.completedAt
        resultUrl = tally.status == .completed ? batch.resultPath : nil
        self.items = items.map(BatchItemSummary.init)
    }
}
