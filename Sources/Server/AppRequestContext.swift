import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import Services
import WhisperAPICore

/// The request context: only request-scoped data, such as the caller's identity.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?
    /// The client's connection: it closes when the client goes away.
    public let channel: any Channel
    /// Who the request turned out to be from, for the access log written outside the routes.
    let caller = RequestCaller()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
        channel = source.channel
    }

    /// Encodable answers use the service's JSON encoder (ISO 8601 dates, sorted keys).
    public var responseEncoder: JSONEncoder { JSONBody.encoder }

    /// The caller; routes behind `AuthMiddleware` always have one.
    public func requireIdentity() throws -> Identity {
        guard let identity else { throw APIError.missingKey }
        return identity
    }
}

/// The user a request was authenticated as, shared by every copy of the request's context.
final class RequestCaller: Sendable {
    private let userId = NIOLockedValueBox<String?>(nil)

    var id: String? {
        get { userId.withLockedValue { $0 } }
        set { userId.withLockedValue { $0 = newValue } }
    }
}
