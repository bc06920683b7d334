import Foundation
import Hummingbird
import Storage
import WhisperAPICore

/// Serves a local object at a URL made by `LocalObjectStorage.downloadURL`.
func signedDownload(_ request: Request, storage: LocalObjectStorage) async throws -> Response {
    let query = request.uri.queryParameters
    guard let key = query["key"].map(String.init), let expires = query["expires"].map(String.init),
          let signature = query["signature"].map(String.init)
    else {
        throw APIError(.invalidSignature, "the download URL is incomplete")
    }
    switch storage.checkDownload(key: key, expires: expires, signature: signature) {
    case .invalid: throw APIError(.invalidSignature, "the download URL's signature does not match")
    case .expired: throw APIError(.urlExpired, "the download URL has expired")
    case .valid: break
    }
    guard let data = try await storage.read(key: key) else { throw APIError(.notFound, "no such object") }
    let type = key.hasSuffix(".json") ? "application/json" : "application/octet-stream"
    return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
