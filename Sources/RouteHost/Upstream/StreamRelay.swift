import AsyncHTTPClient
import Hummingbird
import Logging
import NIOCore

/// Relays an upstream response body to our client with backpressure and constant memory.
///
/// Three tasks share the work: one reads the upstream body, one writes to the client through the
/// response body writer, and a watchdog times both through the ``ChunkHandoff`` between them.
/// The reader runs ahead of the writer by at most ``bufferCapacity`` bytes, and the writer hands
/// everything queued to the socket in one write, so a fast relay makes few task switches and
/// system calls per megabyte while memory per stream stays bounded.
///
/// The two timeouts:
/// - **read-idle** (`idleTimeout`): the writer has waited that long for upstream bytes. Time spent
///   waiting for a slow client does not count.
/// - **client stall** (`clientStallTimeout`): one write to the client (or the final one that ends
///   the answer) has waited that long on backpressure: the client has stopped reading. Without
///   this, such a client would hold the stream, and an upstream connection of the pool, forever
///   (Hummingbird's idle timer does not run while a response is being written). A client that
///   pauses for less than this is not disturbed.
///
/// How it ends:
/// - **complete**: the terminating chunk (or the last of `Content-Length` bytes) is written.
/// - **client gone**: the client's connection closed (``ClientConnection/onClose(_:)``, which
///   fires on the event loop as soon as the channel closes), or a write to it failed. The handoff
///   is failed at once, so the reader takes no further upstream chunk; the upstream request is
///   cancelled (its body stream is dropped, which makes AsyncHTTPClient close the connection) and
///   the relay ends quietly (logged at `info`). What the upstream sent beyond the client's last
///   read is then what sat in socket buffers and in the relay (``heldBytesLimit``), whatever the
///   speed of the link.
/// - **client stalled**: like a client gone (the upstream request is cancelled, not counted as an
///   upstream failure), except that the connection is still open: the pending write is cancelled
///   and the relay throws ``Failure/clientStalled(_:)``, so Hummingbird closes it. Logged at
///   `notice` with the byte count.
/// - **upstream failed or stalled after the head**: the body writer throws, so Hummingbird closes
///   the connection without the terminating chunk: a client of a chunked answer sees an
///   incomplete transfer, a client of a `Content-Length` answer sees fewer bytes than announced.
///   Never a clean-looking truncated 200. Logged as an error with the byte count.
/// - **empty body without `Content-Length: 0`**: treated as an upstream failure (the head promised
///   content). An upstream that says `Content-Length: 0` gets an empty answer relayed as is.
///
/// Caveats:
/// - Both timeouts are checked a few times per limit (see
///   ``ChunkHandoff/firstStall(producerIdle:consumerStall:)``), so they fire up to a quarter of
///   the shorter limit (a second at most) late.
/// - The client stall is seen from our side of the socket: the kernel buffers between us and the
///   client hide its reads until they have drained enough for our writes to continue (on Linux,
///   about a third of our send buffer, which autotuning may grow to a few MiB on a fast link).
///   A client that reads less than that within `clientStallTimeout` counts as stalled; with the
///   default of 120 s only a client slower than a few KiB/s on a slow link, or one whose buffers
///   filled fast and that then reads a trickle, is cut off.
public struct StreamRelay: Sendable {
    /// The longest wait for the next upstream bytes.
    public var idleTimeout: Duration
    /// The longest wait for our client to take one chunk (default 120 s).
    public var clientStallTimeout: Duration
    public var logger: Logger
    /// Called when the upstream fails after the head (not when the client goes away or stalls).
    public var onUpstreamFailure: @Sendable () -> Void

    public init(
        idleTimeout: Duration, clientStallTimeout: Duration = .seconds(120), logger: Logger,
        onUpstreamFailure: @escaping @Sendable () -> Void = {}
    ) {
        self.idleTimeout = idleTimeout
        self.clientStallTimeout = clientStallTimeout
        self.logger = logger
        self.onUpstreamFailure = onUpstreamFailure
    }

    /// Why a relay stopped before the end of the body.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case stalled(Duration)
        case upstream(String)
        case lengthMismatch(expected: Int, received: Int)
        case emptyBody
        /// Our client took no bytes for this long.
        case clientStalled(Duration)

        public var description: String {
            switch self {
            case .stalled(let limit): "no upstream bytes for \(limit.secondsValue) s"
            case .upstream(let reason): "upstream body failed: \(reason)"
            case .lengthMismatch(let expected, let received): "upstream sent \(received) of \(expected) bytes"
            case .emptyBody: "upstream sent an empty body without Content-Length: 0"
            case .clientStalled(let limit): "the client took no bytes for \(limit.secondsValue) s"
            }
        }
    }

    /// How far (in bytes) the upstream reader may run ahead of the client writer.
    public static let bufferCapacity = 256 << 10

    /// The most upstream bytes a relay holds at once, outside socket buffers: the handoff (which
    /// may pass ``bufferCapacity`` by the chunk that filled it), what the writer took from it on
    /// its way to the socket, the chunk in the reader's hand, and what AsyncHTTPClient buffered
    /// from one read event (upstream connections read once per event, ``UpstreamClient/largestRead``
    /// at most). What an upstream may have sent beyond the client's last read, when the client
    /// leaves, is this plus the socket buffers on the way.
    ///
    /// Caveat: the body writer accepts a write while the channel last said it was writable, and
    /// the channel's event loop says otherwise only once it has taken the earlier writes. When that
    /// loop runs behind (a loaded machine), the writer may hand it one more take of the handoff,
    /// counted here; a loop that lags longer while the upstream's keeps reading lets more wait.
    package static let heldBytesLimit = 3 * (bufferCapacity + UpstreamClient.largestRead) + 2 * UpstreamClient.largestRead

    /// A response streaming `body` with `status` and `headers`.
    ///
    /// - Parameter contentLength: the upstream's `Content-Length`, set on our answer too; with 0
    ///   the upstream body is dropped and an empty answer is sent.
    /// - Parameter connection: our client's connection; the upstream request is cancelled when
    ///   it closes.
    public func response(
        status: HTTPResponse.Status, headers: HTTPFields, body: HTTPClientResponse.Body, contentLength: Int?,
        connection: ClientConnection
    ) -> Response {
        var headers = headers
        if contentLength == 0 {
            headers[.contentLength] = "0"
            return Response(status: status, headers: headers, body: ResponseBody())
        }
        headers[.contentLength] = contentLength.map(String.init)
        let relay = self
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: contentLength) { writer in
            try await relay.pump(body, into: &writer, contentLength: contentLength, connection: connection)
        })
    }

    /// Copies `body` into `writer`, then finishes it; throws (so that the connection is aborted)
    /// when the transfer is incomplete or the client stalled.
    public func pump(
        _ body: HTTPClientResponse.Body, into writer: inout any ResponseBodyWriter, contentLength: Int?,
        connection: ClientConnection
    ) async throws {
        let handoff = ChunkHandoff(capacity: Self.bufferCapacity)
        let client = ClientSide(writer)
        let started = ContinuousClock.now
        let watch = connection.onClose { handoff.fail(ClientGone()) }
        defer { watch.cancel() }
        do {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask { await UpstreamBody.feed(body, into: handoff); return false }
                group.addTask { [idleTimeout, clientStallTimeout] in
                    switch try await handoff.firstStall(producerIdle: idleTimeout, consumerStall: clientStallTimeout) {
                    case .producer: handoff.fail(Failure.stalled(idleTimeout))
                    case .consumer: throw Failure.clientStalled(clientStallTimeout)
                    }
                    return false
                }
                group.addTask { try await client.copy(from: handoff, contentLength: contentLength); return true }
                defer { group.cancelAll() }
                while let finished = try await group.next() {
                    if finished { return }
                }
            }
        } catch is ClientGone {
            logger.info("client went away; upstream request cancelled", metadata: ["bytes": "\(client.sent)"])
            throw CancellationError()
        } catch Failure.clientStalled(let limit) {
            logger.notice("client stopped reading; connection closed, upstream request cancelled", metadata: [
                "bytes": "\(client.sent)", "client_stall_timeout": "\(limit.secondsValue)",
            ])
            throw Failure.clientStalled(limit)
        } catch is CancellationError {
            logger.info("relay cancelled; upstream request cancelled", metadata: ["bytes": "\(client.sent)"])
            throw CancellationError()
        } catch {
            let failure = (error as? Failure) ?? .upstream(UpstreamError.classify(error, headTimeout: idleTimeout).description)
            logger.error("upstream stream broke off; client connection aborted", metadata: [
                "bytes": "\(client.sent)", "expected_bytes": "\(contentLength.map(String.init) ?? "unknown")",
                "reason": "\(failure)",
            ])
            onUpstreamFailure()
            throw failure
        }
        logger.info("stream relayed", metadata: [
            "bytes": "\(client.sent)", "seconds": "\(((ContinuousClock.now - started).secondsValue * 1000).rounded() / 1000)",
        ])
    }

    /// The client's end of a relay: the response body writer and the bytes written so far.
    ///
    /// `@unchecked Sendable` because the writer is not `Sendable`: it is used by one task at a
    /// time, the writing child task of ``pump(_:into:contentLength:)``, and `sent` is read by the
    /// parent only after the task group (which awaits that child) has ended.
    private final class ClientSide: @unchecked Sendable {
        private var writer: any ResponseBodyWriter
        private(set) var sent = 0

        init(_ writer: any ResponseBodyWriter) {
            self.writer = writer
        }

        /// Writes what `handoff` hands over, checks the length, and ends the answer.
        ///
        /// - Throws: ``ClientGone`` when a write fails (the connection is closed), a ``Failure``
        ///   when the transfer is incomplete, the handoff's error when the upstream failed,
        ///   `CancellationError` when cancelled (a write waiting on backpressure included).
        func copy(from handoff: ChunkHandoff, contentLength: Int?) async throws {
            while let chunks = try await handoff.receiveAll() {
                if chunks.count == 1 {
                    try await write { try await $0.write(chunks[0]) }
                } else {
                    try await write { try await $0.write(contentsOf: chunks) }
                }
                for chunk in chunks { sent += chunk.readableBytes }
            }
            if let contentLength, sent != contentLength {
                throw Failure.lengthMismatch(expected: contentLength, received: sent)
            }
            if sent == 0 { throw Failure.emptyBody }
            try await write { try await $0.finish(nil) }
        }

        private func write(_ operation: (inout any ResponseBodyWriter) async throws -> Void) async throws {
            do {
                try await operation(&writer)
            } catch {
                if Task.isCancelled { throw CancellationError() }
                throw ClientGone()
            }
        }
    }

    private struct ClientGone: Error {}
}
