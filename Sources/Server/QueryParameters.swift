import Foundation
import Hummingbird
import Persistence
import WhisperAPICore

extension Request {
    /// The `format` query parameter of a result route, when given (a format's name, or `txt`); 400 otherwise.
    func requestedFormat() throws -> ResultFormat? {
        guard let requested = uri.queryParameters["format"], !requested.isEmpty else { return nil }
        guard let format = ResultFormat(named: String(requested)) else {
            throw APIError(.invalidFormat, "unknown format '\(requested)'", allowed: ResultFormat.allCases.map(\.rawValue))
        }
        return format
    }
}

/// A newest-first listing's query: `limit` (1–100, default 20) and the `cursor` a previous page returned, checked.
struct PageRequest {
    let limit: Int
    let cursor: PageCursor?

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        guard let limit = query["limit"].map({ Int(String($0)) }) ?? 20, (1...100).contains(limit) else {
            throw APIError(.invalidLimit, "limit must be between 1 and 100")
        }
        self.limit = limit
        guard let text = query["cursor"], !text.isEmpty else {
            cursor = nil
            return
        }
        guard let decoded = PageCursor(encoded: String(text)) else {
            throw APIError(.invalidCursor, "cursor is not one this API returned")
        }
        cursor = decoded
    }

    /// The page of `rows` (fetched with one row more than the limit, to tell whether another page follows).
    func answer<Row, Item: Encodable & Sendable>(
        _ rows: [Row], createdAt: KeyPath<Row, Date>, id: KeyPath<Row, UUID>, as item: (Row) -> Item
    ) -> PageDTO<Item> {
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { PageCursor(createdAt: $0[keyPath: createdAt], id: $0[keyPath: id]).encoded } : nil
        return PageDTO(items: page.map(item), nextCursor: next)
    }
}
