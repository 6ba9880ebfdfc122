import HTTPTypes
import Hummingbird

/// Settles who the client is before anything else looks at it: the direct peer, or the
/// forwarded address when the peer is a trusted proxy (see ``TrustedProxies``).
public struct ClientAddressMiddleware: RouterMiddleware {
    public typealias Context = RouteHostRequestContext

    let trustedProxies: TrustedProxies

    public init(trustedProxies: TrustedProxies) {
        self.trustedProxies = trustedProxies
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !trustedProxies.isEmpty else { return try await next(request, context) }
        var context = context
        context.clientAddress = trustedProxies.clientAddress(peer: context.clientAddress, forwardedFor: request.headers[.xForwardedFor])
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    public static let xForwardedFor = Self("X-Forwarded-For")!
}
