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

    /// Counts its refusals when metrics are on.
    var metrics: HostMetrics?

    public init(keys: APIKeySet, global: TokenBucketLimiter?, route: TokenBucketLimiter?) {
        self.keys = keys
        self.global = global
        self.route = route
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let identity = keys.identify(request.headers[.xAPIKey]) ?? .address(IPAddress.clientBucket(context.clientAddress))
        context.client = identity
        let key = identity.description
        let tightest: TokenBucketLimiter.Decision
        var retryAfter = 0
        switch (global?.take(key), route?.take(key)) {
        case (nil, nil):
            return try await next(request, context)
        case (let only?, nil), (nil, let only?):
            tightest = only
            if !only.allowed { retryAfter = only.retryAfterSeconds }
        case (let first?, let second?):
            // The refusing one, else the one with fewer tokens left.
            tightest = (first.allowed ? 1 : 0, first.remaining) <= (second.allowed ? 1 : 0, second.remaining) ? first : second
            retryAfter = max(first.allowed ? 0 : first.retryAfterSeconds, second.allowed ? 0 : second.retryAfterSeconds)
        }
        if retryAfter > 0 {
            var refused = HTTPFields()
            Self.announce(tightest, in: &refused)
            refused[.retryAfter] = String(retryAfter)
            metrics?.refused(.rateLimit)
            return .message("Too Many Requests", status: .tooManyRequests, headers: refused)
        }
        var response = try await next(request, context)
        Self.announce(tightest, in: &response.headers)
        return response
    }

    /// Sets the `RateLimit-*` fields of `decision` (replacing any already there).
    public static func announce(_ decision: TokenBucketLimiter.Decision, in headers: inout HTTPFields) {
        headers[.rateLimitLimit] = String(decision.limit)
        headers[.rateLimitRemaining] = String(decision.remaining)
        headers[.rateLimitReset] = String(decision.resetSeconds)
    }
}

extension HTTPField.Name {
    public static let rateLimitLimit = Self("RateLimit-Limit")!
    public static let rateLimitRemaining = Self("RateLimit-Remaining")!
    public static let rateLimitReset = Self("RateLimit-Reset")!
}
