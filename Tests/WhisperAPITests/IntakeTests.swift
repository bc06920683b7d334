import Foundation
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import Testing
import Webhooks
import WhisperAPICore

@testable import Server

/// Bytes written, in memory.
final class CollectingWriter: ObjectWriter {
    let bytes = NIOLockedValueBox<[UInt8]>([])

    func write(_ bytes: [UInt8]) async throws { self.bytes.withLockedValue { $0 += bytes } }
    func finish() async throws -> Int64 { Int64(bytes.withLockedValue { $0.count }) }
    func abort() async { bytes.withLockedValue { $0 = [] } }
}

/// `audio_url` downloads against a live local server, with a resolver stub: `media.test` (which no real resolver
/// knows) is public and resolves to the local server's loopback address; `10.0.0.7` is internal.
@Suite struct AudioURLFetcherTests {
    let audio = wavBytes(16000)

    func fetcher(timeout: Duration = .seconds(10)) -> AudioURLFetcher {
        let policy = OutboundTargetPolicy(
            allowPrivate: false, field: "audio_url",
            resolver: { host in host == "media.test" ? ["127.0.0.1"] : try OutboundTargetPolicy.resolve(host) },
            isInternal: { $0 != "127.0.0.1" && OutboundTargetPolicy.isInternal($0) })
        return AudioURLFetcher(allowPrivate: false, timeout: timeout, policy: policy)
    }

    /// Runs `body` with a server that answers the test's paths, and the base URL under the stub's public name.
    func withMediaServer(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        let audio = self.audio
        router.get("speech.wav") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: audio))) }
        router.get("hop") { _, _ in Response(status: .found, headers: [.location: "/speech.wav"]) }
        router.get("to-internal") { _, _ in Response(status: .found, headers: [.location: "http://10.0.0.7/speech.wav"]) }
        router.get("loop") { _, _ in Response(status: .temporaryRedirect, headers: [.location: "/loop"]) }
        router.get("missing") { _, _ in Response(status: .notFound) }
        router.get("notes.mp3") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: String(repeating: "meeting notes ", count: 100)))) }
        router.get("slow") { _, _ -> Response in
            try await Task.sleep(for: .seconds(5))
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: audio)))
        }
        try await Application(router: router).test(.live) { client in
            try await body("http://media.test:\(try #require(client.port))")
        }
    }

    func fetch(_ url: String, fetcher: AudioURLFetcher? = nil, maxBytes: Int64 = 10_000_000) async throws -> (String?, [UInt8]) {
        let writer = CollectingWriter()
        var intake = AudioIntake(writer: writer, maxBytes: maxBytes)
        let name = try await (fetcher ?? self.fetcher()).fetch(url, into: &intake)
        return (name, writer.bytes.withLockedValue { $0 })
    }

    func code(of operation: @Sendable () async throws -> Void) async -> (String, String)? {
        do {
            try await operation()
            return nil
        } catch let error as APIError {
            return (error.code, error.message)
        } catch {
            return ("\(type(of: error))", "\(error)")
        }
    }

    @Test func aPublicNameIsFetchedFromTheAddressThatWasCheckedAndRedirectsAreFollowed() async throws {
        try await withMediaServer { base in
            let (name, bytes) = try await fetch("\(base)/speech.wav")
            #expect(name == "speech.wav" && bytes == audio, "media.test only resolves through the checked, pinned address")
            let (_, redirected) = try await fetch("\(base)/hop")
            #expect(redirected == audio)
        }
    }

    @Test func everyHopIsCheckedAndFailuresAreTyped() async throws {
        try await withMediaServer { base in
            let internalHop = await code { _ = try await fetch("\(base)/to-internal") }
            #expect(internalHop?.0 == "INVALID_AUDIO_URL" && internalHop?.1.contains("internal address") == true, "\(String(describing: internalHop))")
            #expect(await code { _ = try await fetch("\(base)/loop") }?.1.contains("more than 5") == true)
            let missing = await code { _ = try await fetch("\(base)/missing") }
            #expect(missing?.0 == "AUDIO_URL_UNREACHABLE" && missing?.1.contains("404") == true)
            #expect(await code { _ = try await fetch("\(base)/notes.mp3") }?.0 == "UNSUPPORTED_MEDIA_TYPE")
            #expect(await code { _ = try await fetch("\(base)/speech.wav", maxBytes: 1000) }?.0 == "FILE_TOO_LARGE")
            let slow = await code { _ = try await fetch("\(base)/slow", fetcher: fetcher(timeout: .seconds(1))) }
            #expect(slow?.0 == "AUDIO_URL_UNREACHABLE" && slow?.1.contains("in time") == true, "\(String(describing: slow))")
            for refused in ["ftp://media.test/x", "http://127.0.0.2/x", "http://[::1]/x", "http://169.254.169.254/latest", "not a url"] {
                #expect(await code { _ = try await fetch(refused) }?.0 == "INVALID_AUDIO_URL", "\(refused)")
            }
        }
    }
}

@Suite struct OutboundTargetPinningTests {
    @Test func aNameIsPinnedToAnAddressThatWasCheckedAndEveryAddressMustBePublic() async throws {
        let resolver: @Sendable (String) throws -> [String] = { host in
            ["public.test": ["93.184.215.14"], "mixed.test": ["93.184.215.14", "10.0.0.1"], "rebind.test": ["127.0.0.1"]][host] ?? []
        }
        let policy = OutboundTargetPolicy(allowPrivate: false, field: "webhook_url", resolver: resolver)
        let pinned = try await policy.check("https://public.test/hook")
        #expect(pinned.host == "public.test" && pinned.address == "93.184.215.14")
        for refused in ["https://mixed.test/hook", "https://rebind.test/hook", "https://nowhere.test/hook"] {
            await #expect(throws: OutboundTargetRefused.self, "\(refused)") { try await policy.check(refused) }
        }
        let open = try await OutboundTargetPolicy(allowPrivate: true, field: "webhook_url", resolver: resolver).check("http://rebind.test/hook")
        #expect(open.address == nil, "with private targets allowed the name resolves as usual")
    }
}
