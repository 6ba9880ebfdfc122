import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// Settles who the client is before anything else looks at it: the direct peer, or the
/// forwarded address when the peer is a trusted proxy (see ``TrustedProxies``).
///
/// `X-Forwarded-For` from a peer outside `TRUSTED_PROXIES` is ignored, and logged as a warning
/// once per peer (at most ``maxWarnedPeers`` of them): behind a proxy that is not listed, every
/// client has the proxy's address, so one client's failed keys would block them all.
public struct ClientAddressMiddleware: RouterMiddleware {
    public typealias Context = RouteHostRequestContext

    let trustedProxies: TrustedProxies
    private let warnedPeers = NIOLockedValueBox(Set<String>())

    static let maxWarnedPeers = 1024

    public init(trustedProxies: TrustedProxies) {
        self.trustedProxies = trustedProxies
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let forwardedFor = request.headers[.xForwardedFor] else { return try await next(request, context) }
        let peer = context.clientAddress
        guard trustedProxies.isTrusted(peer) else {
            warnOnce(about: peer, context: context)
            return try await next(request, context)
        }
        var context = context
        context.clientAddress = trustedProxies.clientAddress(peer: peer, forwardedFor: forwardedFor)
        return try await next(request, context)
    }

    private func warnOnce(about peer: String, context: Context) {
        let first = warnedPeers.withLockedValue { peers in
            guard peers.count < Self.maxWarnedPeers else { return false }
            return peers.insert(peer).inserted
        }
        guard first else { return }
        context.logger.warning(
            "X-Forwarded-For from a peer outside TRUSTED_PROXIES is ignored; if a proxy sits in front, list it in TRUSTED_PROXIES",
            metadata: ["peer": "\(peer)"])
    }
}

extension HTTPField.Name {
    public static let xForwardedFor = Self("X-Forwarded-For")!
}
