import HTTPTypes
import Hummingbird

/// The pipeline's rate-limit step: one bucket per client across all routes, plus one per client
/// for a route that declares its own `rate_limit`.
///
/// A client is its API key (by fingerprint, never the key) when the key is valid, else its
/// address. Every response of a limited route carries `RateLimit-Limit`, `RateLimit-Remaining`
/// and `RateLimit-Reset` (of the tighter bucket); a refused request gets
/// `429 {"message":"Too Many Requests"}` with `Retry-After`.
public struct RateLimitMiddleware: RouterMiddleware {
    public typealias Context = RouteHostRequestContext

    let keys: APIKeySet
    let global: TokenBucketLimiter?
    let route: TokenBucketLimiter?

    public init(keys: APIKeySet, global: TokenBucketLimiter?, route: TokenBucketLimiter?) {
        self.keys = keys
        self.global = global
        self.route = route
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let identity = keys.identify(request.headers[.xAPIKey]) ?? .address(context.clientAddress)
        context.client = identity
        let key = identity.description
        let decisions = [global?.take(key), route?.take(key)].compactMap { $0 }
        guard let tightest = decisions.min(by: { ($0.allowed ? 1 : 0, $0.remaining) < ($1.allowed ? 1 : 0, $1.remaining) }) else {
            return try await next(request, context)
        }
        let headers = Self.headers(tightest)
        guard decisions.allSatisfy(\.allowed) else {
            var refused = headers
            refused[.retryAfter] = String(decisions.filter { !$0.allowed }.map(\.retryAfterSeconds).max() ?? 1)
            return .message("Too Many Requests", status: .tooManyRequests, headers: refused)
        }
        var response = try await next(request, context)
        for field in headers { response.headers[field.name] = field.value }
        return response
    }

    static func headers(_ decision: TokenBucketLimiter.Decision) -> HTTPFields {
        [
            .rateLimitLimit: String(decision.limit),
            .rateLimitRemaining: String(decision.remaining),
            .rateLimitReset: String(decision.resetSeconds),
        ]
    }
}

extension HTTPField.Name {
    public static let rateLimitLimit = Self("RateLimit-Limit")!
    public static let rateLimitRemaining = Self("RateLimit-Remaining")!
    public static let rateLimitReset = Self("RateLimit-Reset")!
}
