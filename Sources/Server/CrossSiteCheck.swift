import Foundation
import HTTPTypes
import Hummingbird
import Persistence
import WhisperAPICore

/// Refuses requests that a page of another site made a browser send (SameSite=Strict cookies are the first line).
enum CrossSiteCheck {
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    static let fetchSiteHeader = HTTPField.Name("Sec-Fetch-Site")!

    /// The browser says the request came from another site: its `Sec-Fetch-Site`, or an `Origin` that is neither the
    /// host the request was sent to nor `publicURL` (the address users reach the service at behind a proxy).
    static func sameOrigin(_ request: Request, publicURL: String?) throws {
        if let site = request.headers[fetchSiteHeader], site == "cross-site" || site == "same-site" {
            throw APIError.crossSite
        }
        if let origin = request.headers[.origin], origin != "null" {
            let allowed = [request.head.authority, publicURL.flatMap(authority(of:))].compactMap { $0?.lowercased() }
            guard let host = authority(of: origin), allowed.contains(host.lowercased()) else {
                throw APIError.crossSite
            }
        } else if request.headers[.origin] == "null" {
            throw APIError.crossSite
        }
    }

    /// `host[:port]` of a URL.
    static func authority(of url: String) -> String? {
        guard let components = URLComponents(string: url), let host = components.host else { return nil }
        return components.port.map { "\(host):\($0)" } ?? host
    }

    /// The session's CSRF token is in `X-CSRF-Token` (compared in constant time).
    static func csrfToken(_ request: Request, expected: String) throws {
        let presented = request.headers[csrfHeader] ?? ""
        guard !expected.isEmpty, APIKeyMaterial.constantTimeEqual(Array(presented.utf8), Array(expected.utf8)) else {
            throw APIError(.csrfTokenInvalid, "this request needs the session's X-CSRF-Token header; reload the page")
        }
    }
}
