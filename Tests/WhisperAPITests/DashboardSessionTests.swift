import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Server
import Services
import Testing
import WhisperAPICore

/// The dashboard's sign-in: an API key exchanged for an HttpOnly session cookie, CSRF and cross-site checks,
/// sign-out and revocation; and the pages' own answers (security headers, cache validation, audio ranges).
@Suite struct DashboardSessionTests {
    static let csrf = HTTPField.Name("X-CSRF-Token")!
    static let origin = HTTPField.Name("Origin")!

    /// Signs in with `key`; returns the cookie header to send and the CSRF token.
    func signIn(_ client: any TestClientProtocol, key: String) async throws -> (cookie: String, csrf: String, setCookie: String) {
        let response = try await client.execute(
            uri: "/auth/session", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: #"{"key": "\#(key)"}"#))
        #expect(response.status == .ok)
        let setCookie = try #require(response.headers[.setCookie])
        let token = try #require(setCookie.split(separator: ";").first.map(String.init))
        let csrf = try #require(try dataField(response)["csrfToken"] as? String)
        return (token, csrf, setCookie)
    }

    @Test func aKeyIsExchangedForAnHttpOnlyStrictCookieThatAuthenticates() async throws {
        try await APIHarness.run { client, harness in
            let session = try await signIn(client, key: harness.freeKey)
            for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
                #expect(session.setCookie.contains(attribute), "\(session.setCookie)")
            }
            #expect(!session.setCookie.contains("Secure"))
            #expect(!session.setCookie.contains(harness.freeKey))
            let listed = try await client.execute(uri: "/api/v1/transcriptions", method: .get, headers: [.cookie: session.cookie])
            #expect(listed.status == .ok)
            let current = try await client.execute(uri: "/auth/session", method: .get, headers: [.cookie: session.cookie])
            let data = try dataField(current)
            #expect((data["user"] as? [String: Any])?["email"] as? String == "free@example.com")
            #expect((data["limits"] as? [String: Any])?["models"] as? [String] == ["tiny.en", "base"])
            #expect(data["csrfToken"] as? String == session.csrf)
            // The upload page offers speaker labels only where a worker can diarize.
            let canDiarize = await harness.backend.diarization.available()
            #expect((data["features"] as? [String: Any])?["diarization"] as? Bool == canDiarize)
            // A bearer key has no session to describe.
            let bearer = try await client.get("/auth/session", key: harness.freeKey)
            #expect(try bearer.status == .unauthorized && errorCode(bearer) == "NO_SESSION")
        }
    }

    @Test func aCookieRequestThatChangesStateNeedsTheCSRFTokenAndTheSameOrigin() async throws {
        try await APIHarness.run { client, harness in
            let session = try await signIn(client, key: harness.freeKey)
            let path = "/api/v1/transcribe/\(UUID().uuidString.lowercased())"
            let missing = try await client.execute(uri: path, method: .delete, headers: [.cookie: session.cookie])
            #expect(try missing.status == .forbidden && errorCode(missing) == "CSRF_TOKEN_INVALID")
            // Another token of the same length (its first character changed, whatever it was).
            let other = (session.csrf.first == "x" ? "y" : "x") + session.csrf.dropFirst()
            let wrong = try await client.execute(uri: path, method: .delete, headers: [.cookie: session.cookie, Self.csrf: other])
            #expect(try errorCode(wrong) == "CSRF_TOKEN_INVALID")
            let foreign = try await client.execute(
                uri: path, method: .delete, headers: [.cookie: session.cookie, Self.csrf: session.csrf, Self.origin: "http://evil.example"])
            #expect(try foreign.status == .forbidden && errorCode(foreign) == "CROSS_SITE_REQUEST")
            // With the token the request gets through to the route (which answers for the unknown id).
            let allowed = try await client.execute(uri: path, method: .delete, headers: [.cookie: session.cookie, Self.csrf: session.csrf])
            #expect(allowed.status == .notFound)
            // A sign-in posted from another site is refused too.
            let login = try await client.execute(
                uri: "/auth/session", method: .post, headers: [.contentType: "application/json", Self.origin: "null"],
                body: ByteBuffer(string: #"{"key": "\#(harness.freeKey)"}"#))
            #expect(try login.status == .forbidden && errorCode(login) == "CROSS_SITE_REQUEST")
        }
    }

    @Test func signOutAndRevocationEndSessionsAtOnce() async throws {
        try await APIHarness.run { client, harness in
            let first = try await signIn(client, key: harness.freeKey)
            let second = try await signIn(client, key: harness.freeKey)
            let out = try await client.execute(uri: "/auth/session", method: .delete, headers: [.cookie: first.cookie, Self.csrf: first.csrf])
            #expect(out.status == .ok)
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            let after = try await client.execute(uri: "/api/v1/transcriptions", method: .get, headers: [.cookie: first.cookie])
            #expect(try after.status == .unauthorized && errorCode(after) == "SESSION_EXPIRED")
            #expect(try await client.execute(uri: "/api/v1/usage", method: .get, headers: [.cookie: second.cookie]).status == .ok)
            let prefix = try #require(APIKeyMaterial.prefix(of: harness.freeKey))
            try await harness.backend.administration.revokeKey(prefix: prefix)
            let revoked = try await client.execute(uri: "/api/v1/usage", method: .get, headers: [.cookie: second.cookie])
            #expect(try revoked.status == .unauthorized && errorCode(revoked) == "SESSION_EXPIRED")
            let forged = try await client.execute(uri: "/api/v1/usage", method: .get, headers: [.cookie: "wapi_session=wsess_forged"])
            #expect(forged.status == .unauthorized)
        }
    }

    @Test func badSignInsAreTypedErrors() async throws {
        try await APIHarness.run { client, _ in
            let unknown = try await client.execute(
                uri: "/auth/session", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"key": "wapi_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"}"#))
            #expect(try unknown.status == .unauthorized && errorCode(unknown) == "INVALID_API_KEY")
            let garbage = try await client.execute(
                uri: "/auth/session", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{nope"))
            #expect(try garbage.status == .badRequest && errorCode(garbage) == "INVALID_BODY")
        }
    }

    @Test func anHttpsPublicURLMakesTheCookieSecure() async throws {
        try await APIHarness.run(environment: ["PUBLIC_URL": "https://speech.example.com"]) { client, harness in
            let session = try await signIn(client, key: harness.proKey)
            #expect(session.setCookie.contains("Secure"))
        }
    }

    @Test func pagesCarryTheSecurityHeadersAndRevalidate() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try await APIHarness.run(environment: ["DASHBOARD_ROOT": root.appendingPathComponent("dashboard").path]) { client, _ in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok && page.headers[.contentType]?.hasPrefix("text/html") == true)
            let policy = try #require(page.headers[HTTPField.Name("Content-Security-Policy")!])
            #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"))
            let script = try await client.execute(uri: "/assets/app.js", method: .get)
            let etag = try #require(script.headers[.eTag])
            #expect(script.headers[.cacheControl] != nil)
            #expect(try await client.execute(uri: "/assets/app.js", method: .get, headers: [.ifNoneMatch: etag]).status == .notModified)
            #expect(try await client.execute(uri: "/assets/../Package.swift", method: .get).status == .notFound)
        }
    }

    @Test func theUploadedAudioAnswersRangeRequestsForItsOwnerOnly() async throws {
        try await APIHarness.run { client, harness in
            var form = Multipart()
            let audio = wavBytes(4000)
            form.file(audio)
            let submitted = try await client.submit(form, key: harness.freeKey)
            let id = try #require(try dataField(submitted)["transcriptionId"] as? String)
            let path = "/api/v1/transcriptions/\(id)/audio"
            let whole = try await client.get(path, key: harness.freeKey)
            #expect(whole.status == .ok && Array(whole.body.readableBytesView) == audio)
            #expect(whole.headers[.contentType] == "audio/wav" && whole.headers[.acceptRanges] == "bytes")
            for (range, expected, contentRange) in [
                ("bytes=8-11", Array(audio[8...11]), "bytes 8-11/\(audio.count)"),
                ("bytes=-4", Array(audio.suffix(4)), "bytes \(audio.count - 4)-\(audio.count - 1)/\(audio.count)"),
                ("bytes=\(audio.count - 2)-", Array(audio.suffix(2)), "bytes \(audio.count - 2)-\(audio.count - 1)/\(audio.count)"),
            ] {
                let part = try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(harness.freeKey)", .range: range])
                #expect(part.status == .partialContent, "\(range)")
                #expect(Array(part.body.readableBytesView) == expected, "\(range)")
                #expect(part.headers[.contentRange] == contentRange)
            }
            let beyond = try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(harness.freeKey)", .range: "bytes=999999-"])
            #expect(beyond.status == .rangeNotSatisfiable)
            #expect(try await client.get(path, key: harness.proKey).status == .notFound)
        }
    }
}

@Suite struct DashboardBehindAProxyTests {
    @Test func pagesServedThroughPublicURLMayChangeState() async throws {
        try await APIHarness.run(environment: ["PUBLIC_URL": "https://speech.example.com"]) { client, harness in
            let session = try await DashboardSessionTests().signIn(client, key: harness.proKey)
            let path = "/api/v1/transcribe/\(UUID().uuidString.lowercased())"
            let proxied = try await client.execute(
                uri: path, method: .delete,
                headers: [.cookie: session.cookie, DashboardSessionTests.csrf: session.csrf, DashboardSessionTests.origin: "https://speech.example.com"])
            #expect(proxied.status == .notFound)
            let other = try await client.execute(
                uri: path, method: .delete,
                headers: [.cookie: session.cookie, DashboardSessionTests.csrf: session.csrf, DashboardSessionTests.origin: "https://other.example.com"])
            #expect(try errorCode(other) == "CROSS_SITE_REQUEST")
        }
    }
}
