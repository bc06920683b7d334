import AsyncHTTPClient
import Foundation
import NIOCore
import Webhooks
import WhisperAPICore

/// Downloads an `audio_url` into storage: http(s) only, every hop (at most 5 redirects) checked against the outbound
/// policy and connected to the address that was checked, a connect timeout and a total one, the plan's size limit
/// enforced while streaming, and the bytes sniffed like an upload's.
struct AudioURLFetcher: Sendable {
    let policy: OutboundTargetPolicy
    /// The whole download, redirects included, must end within this.
    let timeout: Duration
    let connectTimeout: TimeAmount
    static let maxRedirects = 5

    init(allowPrivate: Bool, timeout: Duration, connectTimeout: TimeAmount = .seconds(5), policy: OutboundTargetPolicy? = nil) {
        self.policy = policy ?? OutboundTargetPolicy(allowPrivate: allowPrivate, field: "audio_url")
        self.timeout = timeout
        self.connectTimeout = connectTimeout
    }

    /// Streams the audio at `text` through `intake`; returns the file name the URL's path ends with.
    func fetch(_ text: String, into intake: inout AudioIntake) async throws -> String? {
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout.inSeconds * 1e9))
        var location = text
        for _ in 0...Self.maxRedirects {
            let target: PinnedTarget
            do {
                target = try await policy.check(location)
            } catch let refused as OutboundTargetRefused {
                throw APIError(.invalidAudioURL, refused.description)
            }
            let remaining = max(.milliseconds(1), deadline - .now())
            let client = PinnedConnection.client(for: target, connectTimeout: min(connectTimeout, remaining), readTimeout: min(.seconds(30), remaining))
            do {
                let next = try await get(target.url, deadline: deadline, client: client, into: &intake)
                try? await client.shutdown()
                guard let next else { return target.url.lastPathComponent.nilIfEmpty }
                location = next
            } catch {
                try? await client.shutdown()
                throw Self.typed(error)
            }
        }
        throw APIError(.audioURLUnreachable, "audio_url redirected more than \(Self.maxRedirects) times")
    }

    /// One hop: the body into `intake`, or the redirect's next URL.
    private func get(_ url: URL, deadline: NIODeadline, client: HTTPClient, into intake: inout AudioIntake) async throws -> String? {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.headers.add(name: "User-Agent", value: "WhisperAPI-Intake/1")
        let response = try await client.execute(request, deadline: deadline)
        let status = Int(response.status.code)
        if [301, 302, 303, 307, 308].contains(status) {
            guard let header = response.headers.first(name: "Location"), let next = URL(string: header, relativeTo: url)?.absoluteURL else {
                throw APIError(.audioURLUnreachable, "audio_url answered \(status) without a usable Location")
            }
            return next.absoluteString
        }
        guard (200..<300).contains(status) else {
            throw APIError(.audioURLUnreachable, "audio_url answered \(status)")
        }
        if let length = response.headers.first(name: "Content-Length").flatMap(Int64.init), length > intake.maxBytes {
            throw AudioIntake.tooLarge(intake.maxBytes)
        }
        for try await chunk in response.body {
            try await intake.append(chunk.readableBytesView)
            if NIODeadline.now() > deadline { throw HTTPClientError.deadlineExceeded }
        }
        try await intake.finish()
        return nil
    }

    /// Our own errors as they are; the client's (timeouts, refused connections, TLS) as 422 `AUDIO_URL_UNREACHABLE`.
    static func typed(_ error: any Error) -> any Error {
        if error is APIError { return error }
        if let client = error as? HTTPClientError, client == .deadlineExceeded || client == .readTimeout || client == .connectTimeout {
            return APIError(.audioURLUnreachable, "audio_url did not answer in time")
        }
        return APIError(.audioURLUnreachable, "audio_url could not be reached")
    }
}
