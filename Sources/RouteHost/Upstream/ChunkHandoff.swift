import NIOConcurrencyHelpers
import NIOCore

/// Passes body chunks from the task that reads the upstream to the task that writes to the
/// client, one at a time, so that backpressure reaches the upstream unchanged.
///
/// At most one chunk waits here: ``send(_:)`` returns once the chunk is taken, so the reader
/// fetches the next chunk while the writer writes the previous one. The handoff also times both
/// sides, which is what the two timeouts of a relay must measure:
/// - ``consumerWaitingSince``: how long the writer has been waiting for the upstream (read-idle
///   timeout; time spent waiting for a slow client is not upstream idleness);
/// - ``consumerBusySince``: how long the writer has been away with what it took last (a chunk,
///   or the end), that is, writing it to a client that may have stopped reading.
///
/// ``firstStall(producerIdle:consumerStall:)`` watches both.
final class ChunkHandoff: Sendable {
    private struct State {
        var pending: ByteBuffer?
        var end: Result<Void, any Error>?
        var consumer: CheckedContinuation<ByteBuffer?, any Error>?
        var producer: CheckedContinuation<Void, any Error>?
        var consumerWaitingSince: ContinuousClock.Instant?
        var consumerBusySince: ContinuousClock.Instant?
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
                        state.consumerBusySince = .now
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
                    state.consumerBusySince = nil
                    if let chunk = state.pending {
                        state.pending = nil
                        state.consumerBusySince = .now
                        continuation.resume(returning: chunk)
                        defer { state.producer = nil }
                        return state.producer
                    }
                    switch state.end {
                    case .success:
                        state.consumerBusySince = .now
                        continuation.resume(returning: nil)
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
            if state.consumer != nil {
                state.consumerWaitingSince = nil
                if error == nil { state.consumerBusySince = .now }
            }
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

    /// Since when the consumer has been away from ``receive()`` with what it took last (a chunk,
    /// or the end of the body); nil before its first chunk and while it waits for one.
    var consumerBusySince: ContinuousClock.Instant? {
        state.withLockedValue { $0.consumerBusySince }
    }

    /// Which side of a handoff stopped moving.
    enum Stall: Equatable {
        /// The consumer has waited `producerIdle` for a chunk.
        case producer
        /// The consumer has held what it took last for `consumerStall`.
        case consumer
    }

    /// Returns when one side stalls (see ``Stall``); checks a few times per limit (at most every
    /// second, at least every 5 ms), so a stall is noticed up to a quarter of the shorter limit
    /// late (a second at most). Fails nothing itself: the caller decides.
    ///
    /// - Parameter consumerStall: nil: the consumer is never considered stalled.
    /// - Throws: `CancellationError` when the task is cancelled first.
    func firstStall(producerIdle: Duration, consumerStall: Duration?) async throws -> Stall {
        let shortest = min(producerIdle, consumerStall ?? producerIdle)
        let interval = min(max(shortest / 4, .milliseconds(5)), .seconds(1))
        while true {
            try await Task.sleep(for: interval)
            let (waiting, busy) = state.withLockedValue { ($0.consumerWaitingSince, $0.consumerBusySince) }
            let now = ContinuousClock.now
            if let waiting, now - waiting >= producerIdle { return .producer }
            if let consumerStall, let busy, now - busy >= consumerStall { return .consumer }
        }
    }
}
