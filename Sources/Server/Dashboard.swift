import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import WhisperAPICore

/// The dashboard's files (`dashboard/` beside `engine/`, or `DASHBOARD_ROOT`), read once at start: `index.html`
/// is served at `/`, everything under `assets/` at `/assets/…`. The pages are a client of the same API.
struct DashboardFiles: Sendable {
    struct File: Sendable {
        let body: ByteBuffer
        let contentType: String
        let etag: String
    }

    let files: [String: File]

    static let types = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json",
    ]

    /// Reads the folder; a missing folder serves nothing (and says so in the log).
    init(root: String, logger: Logger) {
        var files: [String: File] = [:]
        let rootURL = URL(fileURLWithPath: root)
        let candidates = ["index.html"] + ((try? FileManager.default.contentsOfDirectory(atPath: root + "/assets")) ?? []).map { "assets/" + $0 }
        for name in candidates {
            let ext = String(name.split(separator: ".").last ?? "")
            guard let type = Self.types[ext], let data = try? Data(contentsOf: rootURL.appendingPathComponent(name)) else { continue }
            let etag = "\"" + SHA256.hash(data: data).hexString.prefix(20) + "\""
            files["/" + (name == "index.html" ? "" : name)] = File(body: ByteBuffer(bytes: data), contentType: type, etag: etag)
        }
        if files["/"] == nil { logger.warning("no dashboard found", metadata: ["root": "\(root)"]) }
        self.files = files
    }
}

/// Serves the dashboard's files with cache validation (ETag), and gives every answer the browser-hardening headers:
/// a Content-Security-Policy without `unsafe-inline`, no sniffing, no framing.
struct DashboardMiddleware<Context: RequestContext>: RouterMiddleware {
    let files: DashboardFiles

    static var securityHeaders: HTTPFields {
        [
            HTTPField.Name("Content-Security-Policy")!:
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; "
                + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("Referrer-Policy")!: "same-origin",
        ]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        if request.method == .get || request.method == .head, let file = files.files[request.uri.path] {
            if request.headers[.ifNoneMatch] == file.etag {
                response = Response(status: .notModified, headers: [.eTag: file.etag, .cacheControl: "no-cache"])
            } else {
                // Revalidated on every use (a cheap 304), so an upgraded server never leaves a stale page behind.
                response = Response(
                    status: .ok, headers: [.contentType: file.contentType, .eTag: file.etag, .cacheControl: "no-cache"],
                    body: .init(byteBuffer: file.body))
            }
        } else {
            response = try await next(request, context)
        }
        for field in Self.securityHeaders where response.headers[field.name] == nil { response.headers.append(field) }
        return response
    }
}
