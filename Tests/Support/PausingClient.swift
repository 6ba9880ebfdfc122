import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A client that stops reading in the middle of an answer: on a raw socket with a small fixed
/// receive buffer, it sends one request, reads until it has `limit` bytes (head included), then
/// stops reading (`autoRead` off) until ``resume()``.
public final class PausingClient: ChannelInboundHandler, Sendable {
    public typealias InboundIn = ByteBuffer

    private struct State {
        var received = 0
        var paused = false
        var pauseWaiters: [CheckedContinuation<Void, Never>] = []
        var growthWaiters: [(above: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let limit: Int
    private let state = NIOLockedValueBox(State())
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)

    private init(limit: Int) {
        self.limit = limit
    }

    /// Connects to `127.0.0.1:port` (`SO_RCVBUF` = `receiveBuffer`, set before connecting) and
    /// sends `request`.
    public static func start(port: Int, request: String, pauseAfter limit: Int, receiveBuffer: Int) async throws -> PausingClient {
        let client = PausingClient(limit: limit)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
            .channelOption(ChannelOptions.maxMessagesPerRead, value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(client) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        client.channel.withLockedValue { $0 = channel }
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        return client
    }

    /// Bytes read so far, head included.
    public var received: Int { state.withLockedValue { $0.received } }

    /// Returns once the client has stopped reading.
    public func paused() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { state -> Bool in
                if state.paused { return true }
                state.pauseWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Reads again, and returns once more than `bytes` have been read in all.
    public func resume(until bytes: Int) async throws {
        guard let channel = channel.withLockedValue({ $0 }) else { return }
        try await channel.setOption(ChannelOptions.autoRead, value: true).get()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { state -> Bool in
                if state.received > bytes { return true }
                state.growthWaiters.append((bytes, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Reads again and returns once the connection is closed (by either side): a paused client
    /// does not read, so it would not see the other side's close.
    public func closed() async {
        guard let channel = channel.withLockedValue({ $0 }) else { return }
        try? await channel.setOption(ChannelOptions.autoRead, value: true).get()
        try? await channel.closeFuture.get()
    }

    public func close() async {
        try? await channel.withLockedValue({ $0 })?.close()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytes
        let (pause, woken) = state.withLockedValue { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            state.received += bytes
            var woken: [CheckedContinuation<Void, Never>] = []
            let pause = !state.paused && state.received >= limit
            if pause {
                state.paused = true
                woken = state.pauseWaiters
                state.pauseWaiters = []
            }
            let grown = state.growthWaiters.filter { state.received > $0.above }
            state.growthWaiters.removeAll { state.received > $0.above }
            return (pause, woken + grown.map(\.continuation))
        }
        if pause { context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
        for waiter in woken { waiter.resume() }
    }
}
