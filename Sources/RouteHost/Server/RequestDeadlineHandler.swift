import NIOCore
import NIOHTTPTypes

/// Closes connections whose clients send too slowly (slow-loris).
///
/// An idle timeout alone does not stop a client that trickles one byte every few seconds. This
/// handler gives each request a deadline for its head — from the moment the connection has
/// nothing in flight (accepted, or every request read so far answered) until a head is complete —
/// and another for its body. A connection that misses either is closed; requests being answered
/// (a long stream, or pipelined requests queued behind one) are never cut.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    /// When the connection is closed unless it moves on; nil while nothing is timed.
    private var deadline: NIODeadline?
    /// The timer that checks ``deadline``. Moving the deadline later leaves it as it is (it looks
    /// again when it fires), so a request costs no timer of its own on a busy connection.
    private var timer: Scheduled<Void>?
    private var timerFiresAt: NIODeadline?
    /// Requests whose head has arrived and whose response has not ended.
    private var unanswered = 0
    private var readingBody = false

    init(headTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(headTimeout, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(headTimeout, context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            readingBody = true
            arm(bodyTimeout, context: context)
        case .end:
            readingBody = false
            // Answered before its body was read (a 401 or 413): the next head is timed from now.
            if unanswered == 0 { arm(headTimeout, context: context) } else { disarm() }
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            if unanswered == 0 && !readingBody { arm(headTimeout, context: context) }
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        let at = NIODeadline.now() + timeout
        deadline = at
        if let timerFiresAt, timerFiresAt <= at { return }
        timer?.cancel()
        schedule(at, context: context)
    }

    private func schedule(_ at: NIODeadline, context: ChannelHandlerContext) {
        timerFiresAt = at
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) { [self] in
            timer = nil
            timerFiresAt = nil
            guard let deadline else { return }
            if deadline <= .now() {
                context.channel.close(promise: nil)
            } else {
                schedule(deadline, context: context)
            }
        }
    }

    private func disarm() {
        deadline = nil
    }

    private func stop() {
        deadline = nil
        timer?.cancel()
        timer = nil
        timerFiresAt = nil
    }
}
