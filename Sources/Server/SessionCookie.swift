import Foundation
import HTTPTypes
import Hummingbird

/// The dashboard's session cookie.
enum SessionCookie {
    static let name = "wapi_session"

    /// GET, HEAD and OPTIONS change nothing, so they need no CSRF token.
    static func isSafe(_ method: HTTPRequest.Method) -> Bool {
        method == .get || method == .head || method == .options
    }

    /// The cookie that carries a new session: HttpOnly, SameSite=Strict, `Secure` behind an https `PUBLIC_URL`,
    /// expiring with the session.
    static func set(token: String, lifetime: Duration, secure: Bool) -> Cookie {
        Cookie(name: name, value: token, maxAge: Int(lifetime.inSeconds), path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    /// The cookie that clears it (sign-out).
    static func clear(secure: Bool) -> Cookie {
        Cookie(name: name, value: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }
}
