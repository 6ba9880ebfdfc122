import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A client that goes away in the middle of an answer: on a raw socket with a small fixed
/// receive buffer, it sends one request, reads until it has `limit` bytes (head included), and
/// closes the connection with the rest unread (the kernel then resets it).
///
/// ```swift
/// let reading = try await DisconnectingClient.read(port: host.port, request: text, limit: 1 << 20, receiveBuffer: 64 << 10)
/// #expect(reading.head.hasPrefix("HTTP/1.1 200"))
/// ```
public final class DisconnectingClient: ChannelInboundHandler, Sendable {
    public typealias InboundIn = ByteBuffer

    /// What the client read before it closed.
    public struct Reading: Sendable {
        /// The first bytes of the answer (its head, for an answer with a body), as text.
        public var head: String { String(decoding: start, as: UTF8.self) }
        /// Every byte read, head included.
        public var received = 0
        fileprivate var start: [UInt8] = []
    }

    private let limit: Int
    private let reading = NIOLockedValueBox(Reading())

    private init(limit: Int) {
        self.limit = limit
    }

    /// Connects to `127.0.0.1:port` with `SO_RCVBUF` set to `receiveBuffer` before connecting,
    /// sends `request` (HTTP/1.1 text), and returns once the connection is closed: by us after
    /// `limit` bytes, or by the server.
    public static func read(port: Int, request: String, limit: Int, receiveBuffer: Int) async throws -> Reading {
        let client = DisconnectingClient(limit: limit)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(client) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        try await channel.closeFuture.get()
        return client.reading.withLockedValue { $0 }
    }

    /// A `POST` of `json` to `path` with an API key, as an HTTP/1.1 request text.
    public static func post(_ path: String, json: String, apiKey: String) -> String {
        "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: \(apiKey)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(json.utf8.count)\r\nConnection: close\r\n\r\n\(json)"
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let done = reading.withLockedValue { reading in
            if reading.start.count < 1024 {
                reading.start += buffer.readableBytesView.prefix(1024 - reading.start.count)
            }
            reading.received += buffer.readableBytes
            return reading.received >= limit
        }
        if done { context.close(promise: nil) }
    }
}
