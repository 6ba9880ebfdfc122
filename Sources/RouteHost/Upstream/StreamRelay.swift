import AsyncHTTPClient
import Hummingbird
import Logging
import NIOCore

/// Relays an upstream response body to our client with backpressure and constant memory.
///
/// Two tasks and a watchdog share the work: one reads the upstream body, the response body
/// writer writes to the client, and a ``ChunkHandoff`` between them holds at most one chunk; the
/// watchdog ends the relay when the upstream sends nothing for `idleTimeout` while the writer is
/// waiting for it (time spent waiting for a slow client does not count).
///
/// How it ends:
/// - **complete**: the terminating chunk (or the last of `Content-Length` bytes) is written.
/// - **client gone**: Hummingbird's body writer throws once the connection is closed; the
///   upstream request is cancelled at once (its body stream is dropped, which makes
///   AsyncHTTPClient close the connection) and the relay ends quietly (logged at `info`).
/// - **upstream failed or stalled after the head**: the body writer throws, so Hummingbird closes
///   the connection without the terminating chunk: a client of a chunked answer sees an
///   incomplete transfer, a client of a `Content-Length` answer sees fewer bytes than announced.
///   Never a clean-looking truncated 200. Logged as an error with the byte count.
/// - **empty body without `Content-Length: 0`**: treated as an upstream failure (the head promised
///   content). An upstream that says `Content-Length: 0` gets an empty answer relayed as is.
public struct StreamRelay: Sendable {
    /// The longest wait for the next upstream bytes.
    public var idleTimeout: Duration
    public var logger: Logger
    /// Called when the upstream fails after the head (not when the client goes away).
    public var onUpstreamFailure: @Sendable () -> Void

    public init(idleTimeout: Duration, logger: Logger, onUpstreamFailure: @escaping @Sendable () -> Void = {}) {
        self.idleTimeout = idleTimeout
        self.logger = logger
        self.onUpstreamFailure = onUpstreamFailure
    }

    /// Why a relay stopped before the end of the body.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case stalled(Duration)
        case upstream(String)
        case lengthMismatch(expected: Int, received: Int)
        case emptyBody

        public var description: String {
            switch self {
            case .stalled(let limit): "no upstream bytes for \(limit.secondsValue) s"
            case .upstream(let reason): "upstream body failed: \(reason)"
            case .lengthMismatch(let expected, let received): "upstream sent \(received) of \(expected) bytes"
            case .emptyBody: "upstream sent an empty body without Content-Length: 0"
            }
        }
    }

    /// A response streaming `body` with `status` and `headers`.
    ///
    /// - Parameter contentLength: the upstream's `Content-Length`, set on our answer too; with 0
    ///   the upstream body is dropped and an empty answer is sent.
    public func response(status: HTTPResponse.Status, headers: HTTPFields, body: HTTPClientResponse.Body, contentLength: Int?) -> Response {
        var headers = headers
        if contentLength == 0 {
            headers[.contentLength] = "0"
            return Response(status: status, headers: headers, body: ResponseBody())
        }
        headers[.contentLength] = contentLength.map(String.init)
        let relay = self
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: contentLength) { writer in
            try await relay.pump(body, into: &writer, contentLength: contentLength)
        })
    }

    /// Copies `body` into `writer`, then finishes it; throws (so that the connection is aborted)
    /// when the transfer is incomplete.
    public func pump(_ body: HTTPClientResponse.Body, into writer: inout any ResponseBodyWriter, contentLength: Int?) async throws {
        let handoff = ChunkHandoff()
        let started = ContinuousClock.now
        var sent = 0
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await Self.read(body, into: handoff) }
                group.addTask { [idleTimeout] in try await Self.watch(handoff, idleTimeout: idleTimeout) }
                defer { group.cancelAll() }
                while let chunk = try await handoff.receive() {
                    do {
                        try await writer.write(chunk)
                    } catch {
                        throw ClientGone()
                    }
                    sent += chunk.readableBytes
                }
            }
            if let contentLength, sent != contentLength {
                throw Failure.lengthMismatch(expected: contentLength, received: sent)
            }
            if sent == 0 { throw Failure.emptyBody }
        } catch is ClientGone {
            logger.info("client went away; upstream request cancelled", metadata: ["bytes": "\(sent)"])
            throw CancellationError()
        } catch is CancellationError {
            logger.info("relay cancelled; upstream request cancelled", metadata: ["bytes": "\(sent)"])
            throw CancellationError()
        } catch {
            let failure = (error as? Failure) ?? .upstream(Self.describe(error))
            logger.error("upstream stream broke off; client connection aborted", metadata: [
                "bytes": "\(sent)", "expected_bytes": "\(contentLength.map(String.init) ?? "unknown")",
                "reason": "\(failure)",
            ])
            onUpstreamFailure()
            throw failure
        }
        do {
            try await writer.finish(nil)
        } catch {
            logger.info("client went away before the end of the answer", metadata: ["bytes": "\(sent)"])
            throw CancellationError()
        }
        logger.info("stream relayed", metadata: [
            "bytes": "\(sent)", "seconds": "\(((ContinuousClock.now - started).secondsValue * 1000).rounded() / 1000)",
        ])
    }

    private struct ClientGone: Error {}

    private static func read(_ body: HTTPClientResponse.Body, into handoff: ChunkHandoff) async {
        do {
            for try await chunk in body {
                try await handoff.send(chunk)
            }
            handoff.finish()
        } catch {
            handoff.finish(throwing: error)
        }
    }

    private static func watch(_ handoff: ChunkHandoff, idleTimeout: Duration) async throws {
        let interval = min(max(idleTimeout / 4, .milliseconds(5)), .seconds(1))
        while true {
            try await Task.sleep(for: interval)
            if let since = handoff.consumerWaitingSince, ContinuousClock.now - since >= idleTimeout {
                handoff.fail(Failure.stalled(idleTimeout))
                return
            }
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            if error == .remoteConnectionClosed { return "connection closed" }
            if error == .readTimeout { return "read timeout" }
            return "HTTP client error"
        }
        if error is NIOCore.IOError { return "connection reset" }
        return String(describing: type(of: error))
    }
}
