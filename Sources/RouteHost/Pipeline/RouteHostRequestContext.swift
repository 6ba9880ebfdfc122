import Hummingbird
import NIOCore

/// The request context of every RouteHost request.
///
/// Middleware fills it in pipeline order: the request id first, then the client's identity
/// once authentication has run.
public struct RouteHostRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The direct peer (before any `X-Forwarded-For` handling).
    public let remoteAddress: SocketAddress?
    /// The request id echoed in `X-Request-Id` and in every log line of the request.
    public var requestID: String
    /// The client's address as text (`127.0.0.1`): the direct peer, or the forwarded address
    /// when the peer is a trusted proxy (``ClientAddressMiddleware``); `unknown` without one.
    public var clientAddress: String
    /// The client's identity, set by ``RateLimitMiddleware`` and ``AuthenticationMiddleware``.
    public var client: ClientIdentity?
    /// The connection the request arrived on (when it closes, streams stop).
    public let connection: ClientConnection

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.requestID = ""
        self.clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
        self.client = nil
        self.connection = ClientConnection(channel: source.channel)
    }
}

/// Who made a request, as rate limiting and logs see it. Never holds the key itself.
public enum ClientIdentity: Sendable, Hashable, CustomStringConvertible {
    /// A valid API key, named by a short hash of it.
    case apiKey(fingerprint: String)
    /// An unauthenticated client, named by its address.
    case address(String)

    public var description: String {
        switch self {
        case .apiKey(let fingerprint): "key:\(fingerprint)"
        case .address(let address): "ip:\(address)"
        }
    }

    /// The name a job keeps of the key that submitted it (`key:<fingerprint>`); nil for a client
    /// without a key, whose address says nothing lasting about who it is.
    public var submitter: String? {
        if case .apiKey = self { return description }
        return nil
    }
}

