import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
@testable import Storage
import TestProcesses
import Testing
import WhisperAPICore

/// SigV4 against the examples AWS publishes for S3 (credentials AKIAIOSFODNN7EXAMPLE, 2013-05-24).
@Suite struct SigV4Tests {
    let signer = SigV4Signer(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
    let date = Date(timeIntervalSince1970: 1_369_353_600) // 20130524T000000Z

    @Test func getObjectWithARange() {
        let headers = signer.authorizationHeaders(
            method: "GET", path: "/test.txt", headers: ["Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9"],
            payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(headers["Authorization"] == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(headers["x-amz-date"] == "20130524T000000Z")
    }

    @Test func putObjectWithAnEncodedKey() {
        let payload = "Welcome to Amazon S3."
        let hash = SHA256.hash(data: Data(payload.utf8)).map { String(format: "%02x", $0) }.joined()
        let headers = signer.authorizationHeaders(
            method: "PUT", path: "/" + SigV4Signer.encode("test$file.text"),
            headers: ["Host": "examplebucket.s3.amazonaws.com", "Date": "Fri, 24 May 2013 00:00:00 GMT",
                      "x-amz-storage-class": "REDUCED_REDUNDANCY"],
            payloadHash: hash, date: date)
        #expect(headers["Authorization"]?.hasSuffix("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd") == true)
    }

    @Test func listObjectsWithAQuery() {
        let headers = signer.authorizationHeaders(
            method: "GET", path: "/", query: [("max-keys", "2"), ("prefix", "J")], headers: ["Host": "examplebucket.s3.amazonaws.com"],
            payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(headers["Authorization"]?.hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") == true)
    }

    @Test func presignedGet() {
        let url = signer.presignedURL(url: URL(string: "https://examplebucket.s3.amazonaws.com/test.txt")!, expires: 86400, date: date)
        let query = URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []
        #expect(query.first { $0.name == "X-Amz-Signature" }?.value == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        #expect(query.first { $0.name == "X-Amz-Expires" }?.value == "86400")
        #expect(url.absoluteString.contains("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"))
    }
}

/// The S3 store against a real S3 API: the moto server `make test` starts (`TEST_S3_ENDPOINT`).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TEST_S3_ENDPOINT"] != nil, "needs TEST_S3_ENDPOINT (make test starts moto)"))
struct S3StorageTests {
    static func storage() async throws -> S3ObjectStorage {
        let endpoint = try #require(ProcessInfo.processInfo.environment["TEST_S3_ENDPOINT"])
        let storage = S3ObjectStorage(configuration: S3Configuration(
            bucket: "test-" + UUID().uuidString.prefix(8).lowercased(), endpoint: endpoint,
            accessKeyId: "test-key", secretAccessKey: "test-secret", forcePathStyle: true))
        try await storage.createBucketIfMissing()
        return storage
    }

    /// Runs a boto3 snippet with `BUCKET`, `ENDPOINT` and `s3` defined; returns its last output line.
    func boto3(_ storage: S3ObjectStorage, _ code: String) async throws -> String {
        let script = """
            import boto3, hashlib, sys
            BUCKET, ENDPOINT = sys.argv[1], sys.argv[2]
            s3 = boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
            \(code)
            """
        let python = repositoryRoot + "/.venv/bin/python"
        let child = try await TestProcesses.run(python, ["-c", script, storage.configuration.bucket, try #require(storage.configuration.endpoint)])
        #expect(child.status == 0)
        return child.output.split(separator: "\n").last.map(String.init) ?? ""
    }

    @Test func putGetDeleteAndMissingObjects() async throws {
        let storage = try await Self.storage()
        try await storage.write(key: "results/u1/a b+c.json", data: Data(#"{"ok":true}"#.utf8))
        #expect(try await storage.read(key: "results/u1/a b+c.json") == Data(#"{"ok":true}"#.utf8))
        #expect(try await storage.read(key: "results/u1/missing.json") == nil)
        let file = try await storage.localFile(for: "results/u1/a b+c.json")
        #expect(file.isTemporary)
        #expect(FileManager.default.contents(atPath: file.path) == Data(#"{"ok":true}"#.utf8))
        try? FileManager.default.removeItem(atPath: file.path)
        try await storage.delete(key: "results/u1/a b+c.json")
        try await storage.delete(key: "results/u1/a b+c.json")
        #expect(try await storage.read(key: "results/u1/a b+c.json") == nil)
        await #expect(throws: ObjectNotFound.self) { _ = try await storage.localFile(for: "results/u1/a b+c.json") }
    }

    @Test func aLargeUploadGoesUpInPartsWithBoundedMemoryAndBoto3ReadsIt() async throws {
        let storage = try await Self.storage()
        let writer = try await storage.makeWriter(key: "audio/u1/large")
        var hash = SHA256()
        var chunk = [UInt8](repeating: 0, count: 1024 * 1024)
        let parts = try #require(writer as? S3ObjectWriter)
        var mostBuffered = 0
        for index in 0..<110 {
            for offset in stride(from: 0, to: chunk.count, by: 4096) { chunk[offset] = UInt8(truncatingIfNeeded: index &+ offset / 4096) }
            hash.update(data: chunk)
            try await writer.write(chunk)
            mostBuffered = max(mostBuffered, await parts.bufferedBytes)
        }
        // Parts leave while the upload streams in: memory holds at most one part, never the file.
        #expect(await parts.uploadedParts == 110 / 8)
        #expect(mostBuffered < storage.configuration.partSize)
        #expect(try await writer.finish() == 110 * 1024 * 1024)
        let expected = hash.finalize().map { String(format: "%02x", $0) }.joined()
        let seen = try await boto3(storage, """
            body = s3.get_object(Bucket=BUCKET, Key="audio/u1/large")["Body"].read()
            print(len(body), hashlib.sha256(body).hexdigest())
            """)
        #expect(seen == "\(110 * 1024 * 1024) \(expected)")
    }

    @Test func swiftReadsWhatBoto3WroteAndPresignedURLsWorkOverPlainHTTP() async throws {
        let storage = try await Self.storage()
        _ = try await boto3(storage, #"s3.put_object(Bucket=BUCKET, Key="results/u2/r.json", Body=b'{"text":"from python"}')"#)
        #expect(try await storage.read(key: "results/u2/r.json") == Data(#"{"text":"from python"}"#.utf8))
        let url = try #require(try await storage.downloadURL(key: "results/u2/r.json", expiresIn: 60))
        #expect(url.query?.contains("X-Amz-Expires=60") == true)
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url.absoluteString), timeout: .seconds(30))
        #expect(response.status == .ok)
        #expect(String(buffer: try await response.body.collect(upTo: 1024)) == #"{"text":"from python"}"#)
        let aborted = try await storage.makeWriter(key: "audio/u2/never")
        try await aborted.write([UInt8](repeating: 1, count: 1024))
        await aborted.abort()
        #expect(try await storage.read(key: "audio/u2/never") == nil)
    }
}

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
