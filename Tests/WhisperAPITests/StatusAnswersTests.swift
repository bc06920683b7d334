import Foundation
import HTTPTypes
import Hummingbird
@testable import Server
import Testing
import WhisperAPICore

/// Where `BodyCollector` puts what it is given.
final class CollectedBody: @unchecked Sendable {
    var buffer = ByteBuffer()
}

/// A response body writer that keeps the bytes.
struct BodyCollector: ResponseBodyWriter {
    let collected: CollectedBody

    mutating func write(_ buffer: ByteBuffer) async throws {
        collected.buffer.writeImmutableBuffer(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// Status answers remembered between polls: the same bytes the service's encoder writes, and never one that is stale.
@Suite struct StatusAnswersTests {
    /// The response's body as text.
    func body(_ response: Response) async throws -> String {
        let bytes = CollectedBody()
        try await response.body.write(BodyCollector(collected: bytes))
        return String(buffer: bytes.buffer)
    }

    @Test func anAnswerIsTheEncodersAndChangesTheMomentItsRowDoes() async throws {
        let answers = StatusAnswers()
        var row = Transcription(userId: UUID(), status: .processing, progress: 10, audioKey: "audio/x", model: "tiny.en", format: .json, fileSize: 1)
        func encoded(_ row: Transcription) throws -> String {
            String(decoding: try JSONBody.encoder.encode(Success(StatusDTO(row))), as: UTF8.self)
        }
        #expect(try await body(answers.answer(for: row)) == encoded(row))
        #expect(try await body(answers.answer(for: row)) == encoded(row))  // the remembered answer
        row.progress = 55
        #expect(try await body(answers.answer(for: row)).contains("\"progress\":55"))
        row.status = .completed
        row.completedAt = Date()
        #expect(try await body(answers.answer(for: row)) == encoded(row))
    }

    @Test func pastItsCapacityItStartsAgainEmptyAndStillAnswersRight() async throws {
        let answers = StatusAnswers(capacity: 2)
        let rows = (0..<5).map { Transcription(userId: UUID(), progress: $0, audioKey: "a", model: "tiny.en", format: .json, fileSize: 1) }
        for row in rows + rows {
            #expect(try await body(answers.answer(for: row)).contains("\"progress\":\(row.progress)"))
        }
    }
}
