import AsyncHTTPClient
import NIOCore

/// Reading an upstream response body with a read-idle deadline: the time allowed *without a
/// byte*, not for the whole body, so a slow but steady answer is never cut.
///
/// The body is read on a task of its own into a ``ChunkHandoff``. ``collect(_:upTo:idleTimeout:)``
/// times each wait for a chunk with the ``DeadlineTimer`` shared by every read with that limit
/// (no task or system timer per response); ``StreamRelay`` times its streams with
/// ``ChunkHandoff/firstStall(producerIdle:consumerStall:)``.
///
/// Caveat: with the idle limit alone, an upstream that trickles one byte just inside the limit
/// keeps a read going for as long as it likes; `limit` (the size) is what bounds it.
enum UpstreamBody {
    /// Why ``collect(_:upTo:idleTimeout:)`` gave up.
    enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// No byte for this long.
        case idle(Duration)
        /// More than this many bytes.
        case tooLarge(limit: Int)

        var description: String {
            switch self {
            case .idle(let limit): "no bytes for \(UpstreamConfiguration.seconds(limit).serializedString()) s"
            case .tooLarge(let limit): "larger than \(limit) bytes"
            }
        }
    }

    /// The whole of `body` in one buffer.
    ///
    /// - Throws: ``Failure/idle(_:)`` when no byte arrives for `idleTimeout`,
    ///   ``Failure/tooLarge(limit:)`` past `limit` bytes (the rest is not read), the body's own
    ///   error when it breaks off, `CancellationError`. Leaving early drops the body, which makes
    ///   AsyncHTTPClient close the connection.
    static func collect(_ body: HTTPClientResponse.Body, upTo limit: Int, idleTimeout: Duration) async throws -> ByteBuffer {
        let handoff = ChunkHandoff()
        // Starts on this thread: a body that has already arrived is read without a task switch.
        let feeder = Task.immediate { await feed(body, into: handoff) }
        defer { feeder.cancel() }
        let idle = DeadlineTimer.shared(delay: idleTimeout)
        var collected = ByteBuffer()
        while true {
            let deadline = idle.arm { handoff.fail(Failure.idle(idleTimeout)) }
            let next: ByteBuffer?
            do {
                next = try await handoff.receive()
                idle.disarm(deadline)
            } catch {
                idle.disarm(deadline)
                throw error
            }
            guard let chunk = next else { return collected }
            guard chunk.readableBytes <= limit - collected.readableBytes else { throw Failure.tooLarge(limit: limit) }
            collected.writeImmutableBuffer(chunk)
        }
    }

    /// Reads `body` into `handoff` to its end, then finishes the handoff (with the body's error
    /// if it broke off). Returns when the body ends or the task is cancelled.
    static func feed(_ body: HTTPClientResponse.Body, into handoff: ChunkHandoff) async {
        do {
            for try await chunk in body {
                try await handoff.send(chunk)
            }
            handoff.finish()
        } catch {
            handoff.finish(throwing: error)
        }
    }
}
