import HTTPTypes
import Hummingbird
import HummingbirdCore

/// Adds the security headers to every response, errors and streams included.
///
/// The API serves JSON and media only, so the policy is strict: no sniffing, no framing, no
/// referrer, no caching of API answers unless the handler set its own `Cache-Control`.
public struct SecurityHeadersMiddleware: RouterMiddleware {
    public typealias Context = RouteHostRequestContext

    public init() {}

    static let headers: [(HTTPField.Name, String)] = [
        (.xContentTypeOptions, "nosniff"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        (.contentSecurityPolicy, "default-src 'none'; frame-ancestors 'none'"),
        (HTTPField.Name("Cross-Origin-Resource-Policy")!, "same-origin"),
    ]

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for (name, value) in Self.headers where response.headers[name] == nil {
            response.headers[name] = value
        }
        if response.headers[.cacheControl] == nil {
            response.headers[.cacheControl] = "no-store"
        }
        return response
    }
}
