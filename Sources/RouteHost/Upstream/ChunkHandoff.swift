import NIOConcurrencyHelpers
import NIOCore

/// Passes body chunks from the task that reads a body to the task that writes it on, with
/// backpressure: the reader runs ahead by at most ``capacity`` bytes.
///
/// ``send(_:)`` queues the chunk and returns at once while no more than `capacity` bytes wait,
/// otherwise once the consumer has taken them, so that backpressure reaches the producer (with a
/// capacity of 0, as soon as the chunk is taken). The consumer takes one chunk (``receive()``)
/// or everything queued (``receiveAll()``), which lets a writer hand several chunks to the
/// socket in one write. The handoff also times both sides, which is what the two timeouts of a
/// relay must measure:
/// - ``consumerWaitingSince``: how long the writer has been waiting for the upstream (read-idle
///   timeout; time spent waiting for a slow client is not upstream idleness);
/// - ``consumerBusySince``: how long the writer has been away with what it took last (chunks,
///   or the end), that is, writing them to a client that may have stopped reading.
///
/// ``firstStall(producerIdle:consumerStall:)`` watches both.
final class ChunkHandoff: Sendable {
    private struct State {
        var pending = CircularBuffer<ByteBuffer>()
        var pendingBytes = 0
        var end: Result<Void, any Error>?
        var consumer: CheckedContinuation<[ByteBuffer]?, any Error>?
        var producer: CheckedContinuation<Void, any Error>?
        var consumerWaitingSince: ContinuousClock.Instant?
        var consumerBusySince: ContinuousClock.Instant?
    }

    /// How many bytes may wait for the consumer before ``send(_:)`` waits too.
    let capacity: Int
    private let state = NIOLockedValueBox(State())

    init(capacity: Int = 0) {
        self.capacity = capacity
    }

    /// Hands `chunk` over; returns once at most ``capacity`` bytes wait for the consumer.
    ///
    /// - Throws: `CancellationError` when the task is cancelled, or the error the handoff was
    ///   failed with.
    func send(_ chunk: ByteBuffer) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let consumer = state.withLockedValue { state -> CheckedContinuation<[ByteBuffer]?, any Error>? in
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
                    state.pending.append(chunk)
                    state.pendingBytes += chunk.readableBytes
                    if state.pendingBytes > capacity {
                        state.producer = continuation
                    } else {
                        continuation.resume()
                    }
                    return nil
                }
                consumer?.resume(returning: [chunk])
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
        try await take(all: false)?.first
    }

    /// Every chunk waiting (at least one, in order); nil once the producer has finished.
    func receiveAll() async throws -> [ByteBuffer]? {
        try await take(all: true)
    }

    private func take(all: Bool) async throws -> [ByteBuffer]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[ByteBuffer]?, any Error>) in
                let producer = state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
                    state.consumerBusySince = nil
                    if !state.pending.isEmpty {
                        var taken: [ByteBuffer]
                        if all {
                            taken = Array(state.pending)
                            state.pending.removeAll(keepingCapacity: true)
                            state.pendingBytes = 0
                        } else {
                            taken = [state.pending.removeFirst()]
                            state.pendingBytes -= taken[0].readableBytes
                        }
                        state.consumerBusySince = .now
                        continuation.resume(returning: taken)
                        guard state.pendingBytes <= capacity else { return nil }
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
            state.withLockedValue { state -> CheckedContinuation<[ByteBuffer]?, any Error>? in
                defer { state.consumer = nil }
                return state.consumer
            }?.resume(throwing: CancellationError())
        }
    }

    /// The producer has no more chunks (error: it failed). Chunks still queued are delivered first.
    func finish(throwing error: (any Error)? = nil) {
        let consumer = state.withLockedValue { state -> CheckedContinuation<[ByteBuffer]?, any Error>? in
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

    /// Ends the handoff at once with `error`: a waiting consumer or producer throws it, and
    /// queued chunks are dropped.
    func fail(_ error: any Error) {
        let (consumer, producer) = state.withLockedValue { state in
            if case .failure = state.end {} else { state.end = .failure(error) }
            state.pending.removeAll()
            state.pendingBytes = 0
            defer {
                state.consumer = nil
                state.producer = nil
            }
            return (state.consumer, state.producer)
        }
        consumer?.resume(throwing: error)
        producer?.resume(throwing: error)
    }

    /// How many bytes wait for the consumer.
    var queuedBytes: Int {
        state.withLockedValue { $0.pendingBytes }
    }

    /// Whether a ``send(_:)`` is waiting for the consumer to make room.
    var hasWaitingProducer: Bool {
        state.withLockedValue { $0.producer != nil }
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
