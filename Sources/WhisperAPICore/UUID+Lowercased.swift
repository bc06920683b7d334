import Foundation

extension UUID {
    /// The lowercase form the API, the queue and storage keys use everywhere.
    public var lowercasedString: String { uuidString.lowercased() }
}
