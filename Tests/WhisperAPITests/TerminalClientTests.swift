import Foundation
import TerminalClient
import Testing

@Suite struct TerminalClientTests {
    @Test func eventsArriveWhateverHowTheTextIsCut() {
        let stream = "retry: 1000\n\n: keep-alive\n\nid: 17\nevent: progress\ndata: {\"id\":\"a\",\r\ndata: \"progress\":40}\n\nid: 18\nevent: completed\ndata: {}\n\n"
        for size in [1, 3, 7, stream.count] {
            var parser = ServerSentEventParser()
            var events: [ServerSentEventStream.Event] = []
            var rest = Substring(stream)
            while !rest.isEmpty {
                events += parser.feed(String(rest.prefix(size)))
                rest = rest.dropFirst(size)
            }
            #expect(events == [
                .init(id: "17", name: "progress", data: "{\"id\":\"a\",\n\"progress\":40}"),
                .init(id: "18", name: "completed", data: "{}"),
            ], "cut every \(size)")
        }
    }

    @Test func flagsOverTheEnvironmentOverTheSavedLogin() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("wapi-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: home) }
        let environment = ["HOME": home.path]
        let file = try ClientSettings(server: "http://saved:8080", key: "saved-key").save(environment: environment)
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try ClientSettings.resolve(server: nil, key: nil, environment: environment) == ClientSettings(server: "http://saved:8080", key: "saved-key"))
        let fromEnvironment = try ClientSettings.resolve(
            server: nil, key: nil, environment: environment.merging(["WHISPERAPI_URL": "https://env.example/", "WHISPERAPI_KEY": "env-key"]) { $1 })
        #expect(fromEnvironment == ClientSettings(server: "https://env.example", key: "env-key"))
        let fromFlags = try ClientSettings.resolve(
            server: "http://flag:1", key: "flag-key", environment: environment.merging(["WHISPERAPI_KEY": "env-key"]) { $1 })
        #expect(fromFlags == ClientSettings(server: "http://flag:1", key: "flag-key"))
        #expect(throws: ClientError.self) { try ClientSettings.resolve(server: nil, key: nil, environment: ["HOME": home.path + "-none"]) }
        #expect(throws: ClientError.self) { try ClientSettings.normalized("ftp://nope") }
    }
}
