import NIOConcurrencyHelpers
import NIOCore

/// `MAX_CONNECTIONS_PER_CLIENT`: open connections per client address (IPv6 per /64, see
/// ``IPAddress/clientBucket(_:)``), so that one client cannot take every one of
/// `MAX_CONNECTIONS`. Peers in `TRUSTED_PROXIES` are not counted: all their clients arrive
/// through them, and which client a connection carries is only known from its requests.
final class ClientConnectionLimiter: Sendable {
    let limit: Int
    private let trustedProxies: TrustedProxies
    private let open = NIOLockedValueBox<[String: Int]>([:])

    init(limit: Int, trustedProxies: TrustedProxies) {
        self.limit = limit
        self.trustedProxies = trustedProxies
    }

    enum Admission: Equatable {
        /// One too many: close it.
        case refused
        /// Counted under `bucket` (nil: a trusted proxy, not counted).
        case admitted(bucket: String?)
    }

    /// Counts a new connection from `address`, unless it is one too many.
    func admit(_ address: String) -> Admission {
        if trustedProxies.isTrusted(address) { return .admitted(bucket: nil) }
        let bucket = IPAddress.clientBucket(address)
        let admitted = open.withLockedValue { open -> Bool in
            guard open[bucket, default: 0] < limit else { return false }
            open[bucket, default: 0] += 1
            return true
        }
        return admitted ? .admitted(bucket: bucket) : .refused
    }

    func closed(_ bucket: String) {
        open.withLockedValue { open in
            open[bucket, default: 1] -= 1
            if open[bucket] == 0 { open[bucket] = nil }
        }
    }

    /// Connections open now from `address`'s bucket.
    func count(_ address: String) -> Int {
        open.withLockedValue { $0[IPAddress.clientBucket(address)] ?? 0 }
    }
}

/// The first handler of every connection: closes it at once when its client already has
/// `MAX_CONNECTIONS_PER_CLIENT` open (before a byte is read), and counts it out when it closes.
final class ClientConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let limiter: ClientConnectionLimiter
    private var bucket: String?

    init(limiter: ClientConnectionLimiter) {
        self.limiter = limiter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    /// The client sent its FIN: the host allows half-closure (to answer what it sent), but the
    /// client is done with the connection and its place is free.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent { release() }
        context.fireUserInboundEventTriggered(event)
    }

    private func release() {
        if let bucket {
            limiter.closed(bucket)
            self.bucket = nil
        }
    }

    private func admit(context: ChannelHandlerContext) {
        guard bucket == nil, let address = context.channel.remoteAddress?.ipAddress else { return }
        switch limiter.admit(address) {
        case .refused:
            context.close(promise: nil)
        case .admitted(let counted):
            bucket = counted
        }
    }
}
