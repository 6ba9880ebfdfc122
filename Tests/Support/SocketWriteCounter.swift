import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes

/// Counts the response body bytes of one connection that its socket has accepted (their write
/// completed), as opposed to those a handler has handed to its body writer; and closes the
/// connection when the peer closes its side.
///
/// The two counts differ: a body writer called from a task accepts chunks while the channel still
/// reports itself writable, and the event loop may run behind it by megabytes. A test that asks
/// how much a server *sent* must count here. Hummingbird allows half-closure, so without the close
/// a peer's FIN would go unseen until the next write. Add one per connection, after the HTTP codec.
public final class SocketWriteCounter: ChannelDuplexHandler, RemovableChannelHandler, Sendable {
    public typealias InboundIn = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    private let accepted = NIOLockedValueBox(0)

    public init() {}

    /// Body bytes written to the socket so far.
    public var acceptedBytes: Int { accepted.withLockedValue { $0 } }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent { context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .body(let buffer) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        let bytes = buffer.readableBytes
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.whenSuccess { [accepted] in accepted.withLockedValue { $0 += bytes } }
        context.write(data, promise: written)
    }
}
