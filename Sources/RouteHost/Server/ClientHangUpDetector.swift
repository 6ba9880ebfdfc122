import NIOCore
import NIOHTTPTypes

/// Tells the streams of a connection that its client has gone, as soon as it closes its sending
/// side (TCP FIN) or the connection ends.
///
/// The server allows half-closure (a client that shuts down its writing side after the request
/// still gets its answer), so a FIN alone does not close the channel: that happens at our next
/// write. A stream whose source is silent may not write again for a long time, and meanwhile its
/// upstream request or child processes would go on. ``ClientConnection/onClose(_:)`` listens
/// here as well as on the channel's close. Only streams listen: a half-closing client of any other
/// route gets its answer as before.
///
/// One per connection, after the HTTP codec. Event-loop bound, like every channel handler.
final class ClientHangUpDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private var hungUp = false
    private var listeners: [ClientConnection.Registration] = []

    /// Fires `registration` when the client hangs up (at once if it has). Event loop only.
    func notify(_ registration: ClientConnection.Registration) {
        if hungUp {
            registration.fire()
        } else {
            listeners.removeAll { $0.isSpent }
            listeners.append(registration)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent { hangUp() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        hangUp()
        context.fireChannelInactive()
    }

    private func hangUp() {
        guard !hungUp else { return }
        hungUp = true
        let fired = listeners
        listeners = []
        for registration in fired { registration.fire() }
    }
}
