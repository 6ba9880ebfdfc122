import HTTPTypes
import Hummingbird

/// Cross-origin access for the browsers of `ALLOWED_ORIGINS` only.
///
/// - A request with an allowed `Origin` gets `Access-Control-Allow-Origin` (that origin, never
///   `*`) and the exposed headers; one from another origin gets no CORS header at all.
/// - A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin is
///   answered here with 204, the path's methods and the headers a client sends (`X-API-Key`,
///   `Content-Type`, `X-Request-Id`, `Range`); from another origin, with 403 and no CORS header.
/// - `Vary: Origin` is on every response while origins are configured, so caches keep them apart.
public struct CORSMiddleware: RouterMiddleware {
    public typealias Context = RouteHostRequestContext

    let allowedOrigins: Set<String>
    let allowsAnyOrigin: Bool
    let allowedMethods: @Sendable (String) -> [HTTPRequest.Method]

    static let allowedHeaders = "X-API-Key, Content-Type, X-Request-Id, Range"
    static let exposedHeaders = "X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Content-Disposition, Content-Length, Content-Range, Accept-Ranges, X-Video-Title, X-Video-Duration"

    /// - Parameter origins: `ALLOWED_ORIGINS`; `*` allows any origin (still echoed one by one).
    public init(origins: [String], allowedMethods: @escaping @Sendable (String) -> [HTTPRequest.Method]) {
        self.allowsAnyOrigin = origins.contains("*")
        self.allowedOrigins = Set(origins.filter { $0 != "*" }.map { $0.lowercased().trimmingSuffix("/") })
        self.allowedMethods = allowedMethods
    }

    func allows(_ origin: String) -> Bool {
        allowsAnyOrigin || allowedOrigins.contains(origin.lowercased())
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else {
            return Self.vary(try await next(request, context))
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            guard allows(origin) else {
                return Self.vary(.message("CORS preflight refused: origin '\(origin)' is not in ALLOWED_ORIGINS", status: .forbidden))
            }
            let methods = allowedMethods(request.uri.path)
            var headers: HTTPFields = [
                .accessControlAllowOrigin: origin,
                .accessControlAllowHeaders: Self.allowedHeaders,
                .accessControlMaxAge: "600",
            ]
            headers[.accessControlAllowMethods] = (methods.isEmpty ? ["GET", "POST"] : methods.map(\.rawValue)).joined(separator: ", ")
            return Self.vary(Response(status: .noContent, headers: headers))
        }
        var response = try await next(request, context)
        if allows(origin) {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlExposeHeaders] = Self.exposedHeaders
        }
        return Self.vary(response)
    }

    static func vary(_ response: Response) -> Response {
        var response = response
        if let vary = response.headers[.vary] {
            if !vary.lowercased().contains("origin") { response.headers[.vary] = vary + ", Origin" }
        } else {
            response.headers[.vary] = "Origin"
        }
        return response
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
