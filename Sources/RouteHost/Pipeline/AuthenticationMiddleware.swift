import Hummingbird
import JSONSchema

/// Lets a request through only with a valid `X-API-Key` (the header name in any case).
///
/// Runs before the body is read, so an unauthenticated client cannot make the host buffer a
/// payload. A valid key always passes; only failures count towards the address's
/// ``AuthFailureLimiter`` throttle. Failure: `401 {"message":"Unauthorized"}`, or the envelope with `code: 401` on routes
/// whose handler asks for it (`/v1/toolkit/authenticate`).
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = RouteHostRequestContext

    let keys: APIKeySet
    let endpoint: String
    let envelopeOnFailure: Bool
    let envelopeFields: EnvelopeFields
    let failureLimiter: AuthFailureLimiter?
    /// Counts its refusals when metrics are on.
    var metrics: HostMetrics?

    public init(keys: APIKeySet, endpoint: String, envelopeOnFailure: Bool, envelopeFields: EnvelopeFields, failureLimiter: AuthFailureLimiter? = nil) {
        self.keys = keys
        self.endpoint = endpoint
        self.envelopeOnFailure = envelopeOnFailure
        self.envelopeFields = envelopeFields
        self.failureLimiter = failureLimiter
    }

    /// Checks the key itself, whatever earlier middleware concluded. An address blocked for its
    /// failures gets `429` for every attempt, a valid key included, so that it cannot tell when
    /// a guess was right.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        // IPv6 clients are counted per /64: a client can pick any address in its network.
        let address = IPAddress.clientBucket(context.clientAddress)
        if let failureLimiter, let retryAfter = failureLimiter.blockedFor(address) {
            metrics?.refused(.blockedAddress)
            return .message("Too Many Requests", status: .tooManyRequests, headers: [.retryAfter: String(retryAfter)])
        }
        if let identity = keys.identify(request.headers[.xAPIKey]) {
            context.client = identity
            return try await next(request, context)
        }
        failureLimiter?.recordFailure(address)
        metrics?.refused(.authFailure)
        context.logger.notice("authentication failed", metadata: ["client": "\(address)"])
        return unauthorized(context)
    }

    func unauthorized(_ context: Context) -> Response {
        guard envelopeOnFailure else { return .message("Unauthorized", status: .unauthorized) }
        var envelope = Envelope(endpoint: endpoint, code: 401, fields: envelopeFields)
        envelope.message = "Unauthorized"
        return .json(envelope.json, status: .unauthorized)
    }
}
