import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OpenAPIKit
import Server
import Testing
import WhisperAPICore

@Suite struct OpenAPIDocumentTests {
    @Test func theDocumentDescribesEveryRouteAndNoOther() async throws {
        try await APIHarness.run { client, harness in
            let response = try await client.execute(uri: "/openapi.json", method: .get)
            #expect(response.status == .ok)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
            let served = Set(buildRouter(backend: harness.backend).routes.map { route in
                // The router writes parameters as {id}, as OpenAPI does.
                "\(route.method) /" + route.path.description.split(separator: "/").joined(separator: "/")
            })
            #expect(served.count == 43 && served.contains("POST /v1/audio/transcriptions") && served.contains("GET /api/v1/transcriptions/{id}/result"), "\(served.sorted())")
            #expect(documented == served, "only documented: \(documented.subtracting(served)); only served: \(served.subtracting(documented))")
            // The served bytes are a valid OpenAPI 3.1 document: OpenAPIKit reads them back and its validator
            // (every reference resolves, every operation answers something, paths are unique) passes.
            let typed = try JSONDecoder().decode(OpenAPI.Document.self, from: Data(buffer: response.body))
            #expect(typed.openAPIVersion == .v3_1_0)
            try typed.validate()
            // Every $ref points at something the document defines.
            let text = String(buffer: response.body)
            let components = try #require(document["components"] as? [String: [String: Any]])
            let references = text.matches(of: /"\$ref":\s*"#\/components\/(\w+)\/(\w+)"/)
            #expect(references.count > 50)
            for match in references {
                #expect(components[String(match.1)]?[String(match.2)] != nil, "\(match.0)")
            }
            // Any route that needs a key may meet the rate limit.
            for (path, operations) in paths {
                for (method, value) in operations {
                    let operation = try #require(value as? [String: Any])
                    let open = (operation["security"] as? [Any])?.isEmpty == true
                    #expect(open || (operation["responses"] as? [String: Any])?["429"] != nil, "\(method) \(path)")
                }
            }
        }
    }
}

@Suite struct MethodNotAllowedTests {
    @Test func aPathServedWithAnotherMethodIs405WithAllow() async throws {
        try await APIHarness.run { client, harness in
            let headers: HTTPFields = [.authorization: "Bearer \(harness.freeKey)"]
            for (method, uri, allow) in [
                (HTTPRequest.Method.patch, "/api/v1/status/abc", "GET"), (.delete, "/api/v1/transcriptions", "GET"),
                (.post, "/api/v1/transcribe/abc", "DELETE"), (.get, "/api/v1/keys/current/webhook/secret", "POST"),
                (.delete, "/api/v1/keys/current/webhook", "GET, PUT"),
            ] {
                let response = try await client.execute(uri: uri, method: method, headers: headers)
                #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                #expect(try errorCode(response) == "METHOD_NOT_ALLOWED")
            }
            let unknown = try await client.execute(uri: "/api/v1/nothing/here", method: .get, headers: headers)
            #expect(unknown.status == .notFound)
            #expect(try errorCode(unknown) == "NOT_FOUND")
        }
    }
}
