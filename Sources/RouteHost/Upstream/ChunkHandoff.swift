import NIOConcurrencyHelpers
import NIOCore

/// Passes body chunks from the task that reads the upstream to the task that writes to the
/// client, one at a time, so that backpressure reaches the upstream unchanged.
///
/// At most one chunk waits here: ``send(_:)`` returns once the chunk is taken, so the reader
/// fetches the next chunk while the writer writes the previous one. The handoff also tells how
/// long the writer has been waiting for the upstream (``consumerWaitingSince``), which is what a
/// read-idle timeout must measure: time spent waiting for a slow client is not upstream idleness.
final class ChunkHandoff: Sendable {
    private struct State {
        var pending: ByteBuffer?
        var end: Result<Void, any Error>?
        var consumer: CheckedContinuation<ByteBuffer?, any Error>?
        var producer: CheckedContinuation<Void, any Error>?
        var consumerWaitingSince: ContinuousClock.Instant?
    }

    private let state = NIOLockedValueBox(State())

    /// Hands `chunk` over; returns when the consumer has taken it.
    ///
    /// - Throws: `CancellationError` when the task is cancelled, or the error the handoff was
    ///   failed with.
    func send(_ chunk: ByteBuffer) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let consumer = state.withLockedValue { state -> CheckedContinuation<ByteBuffer?, any Error>? in
                    if case .failure(let error) = state.end {
                        continuation.resume(throwing: error)
                        return nil
                    }
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                        return nil
                    }
                    if let consumer = state.consumer {
                        state.consumer = nil
                        state.consumerWaitingSince = nil
                        continuation.resume()
                        return consumer
                    }
                    state.pending = chunk
                    state.producer = continuation
                    return nil
                }
                consumer?.resume(returning: chunk)
            }
        } onCancel: {
            state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
                defer { state.producer = nil }
                return state.producer
            }?.resume(throwing: CancellationError())
        }
    }

    /// The next chunk; nil once the producer has finished.
    func receive() async throws -> ByteBuffer? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ByteBuffer?, any Error>) in
                let producer = state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
                    if let chunk = state.pending {
                        state.pending = nil
                        continuation.resume(returning: chunk)
                        defer { state.producer = nil }
                        return state.producer
                    }
                    switch state.end {
                    case .success: continuation.resume(returning: nil)
                    case .failure(let error): continuation.resume(throwing: error)
                    case nil:
                        if Task.isCancelled {
                            continuation.resume(throwing: CancellationError())
                        } else {
                            state.consumer = continuation
                            state.consumerWaitingSince = .now
                        }
                    }
                    return nil
                }
                producer?.resume()
            }
        } onCancel: {
            state.withLockedValue { state -> CheckedContinuation<ByteBuffer?, any Error>? in
                defer { state.consumer = nil }
                return state.consumer
            }?.resume(throwing: CancellationError())
        }
    }

    /// The producer has no more chunks (error: it failed). A chunk still pending is delivered first.
    func finish(throwing error: (any Error)? = nil) {
        let consumer = state.withLockedValue { state -> CheckedContinuation<ByteBuffer?, any Error>? in
            guard state.end == nil else { return nil }
            state.end = error.map { .failure($0) } ?? .success(())
            defer { state.consumer = nil }
            return state.consumer
        }
        if let error { consumer?.resume(throwing: error) } else { consumer?.resume(returning: nil) }
    }

    /// Ends the handoff at once with `error`: a waiting consumer or producer throws it, and a
    /// pending chunk is dropped.
    func fail(_ error: any Error) {
        let (consumer, producer) = state.withLockedValue { state in
            if case .failure = state.end {} else { state.end = .failure(error) }
            state.pending = nil
            defer {
                state.consumer = nil
                state.producer = nil
            }
            return (state.consumer, state.producer)
        }
        consumer?.resume(throwing: error)
        producer?.resume(throwing: error)
    }

    /// Since when the consumer has been waiting for a chunk; nil while it is busy writing.
    var consumerWaitingSince: ContinuousClock.Instant? {
        state.withLockedValue { $0.consumerWaitingSince }
    }
}
