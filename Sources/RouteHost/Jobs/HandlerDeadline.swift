import NIOConcurrencyHelpers

/// Runs a job's handler with a time limit (`JOB_TIMEOUT_SECONDS`).
///
/// The handler runs in a task of its own, started on the caller's thread (`Task.immediate`), and
/// the limit is kept by the ``DeadlineTimer`` shared by every job with that limit. When the limit
/// passes first, the handler's task is cancelled and ``Exceeded`` is thrown at once: the caller
/// (a worker) goes on even when the handler ignores cancellation.
///
/// ```swift
/// let result = try await HandlerDeadline.run(limit: .seconds(600)) { try await handler(request) }
/// ```
///
/// - Important: a handler that ignores cancellation keeps running in the background after its
///   job has ended as timed out (its result is dropped), so more handlers than `QUEUE_WORKERS`
///   can be running for a while. Handlers that call upstream services through
///   AsyncHTTPClient or `Task.sleep` do stop when cancelled.
enum HandlerDeadline {
    /// The handler did not return within `limit`.
    struct Exceeded: Error, Sendable {
        var limit: Duration
    }

    /// Returns `operation`'s result, or throws ``Exceeded`` after `limit` (nil: no limit).
    /// Cancelling the caller cancels the operation and waits for it.
    static func run<T: Sendable>(limit: Duration?, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let limit else { return try await operation() }
        let first = FirstResult<T>()
        let timer = DeadlineTimer.shared(delay: limit)
        // Starts on this thread and runs until its first suspension: a handler that answers
        // without waiting (most synchronous routes) costs no task switch.
        let work = Task.immediate {
            do {
                first.resume(with: .success(try await operation()))
            } catch {
                first.resume(with: .failure(error))
            }
        }
        if let finished = first.result { return try finished.get() }
        let deadline = timer.arm {
            first.resume(with: .failure(Exceeded(limit: limit)))
            work.cancel()
        }
        return try await withTaskCancellationHandler {
            defer { timer.disarm(deadline) }
            return try await withCheckedThrowingContinuation { first.install($0) }
        } onCancel: {
            work.cancel()
        }
    }

    /// Resumes a continuation once, with the first result that comes (kept until the
    /// continuation is installed when it comes before).
    private final class FirstResult<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var result: Result<T, any Error>?
        }

        private let state = NIOLockedValueBox(State())

        /// The result, once it has come.
        var result: Result<T, any Error>? {
            state.withLockedValue { $0.result }
        }

        func install(_ continuation: CheckedContinuation<T, any Error>) {
            let result = state.withLockedValue { state -> Result<T, any Error>? in
                if state.result == nil { state.continuation = continuation }
                return state.result
            }
            if let result { continuation.resume(with: result) }
        }

        func resume(with result: Result<T, any Error>) {
            let continuation = state.withLockedValue { state -> CheckedContinuation<T, any Error>? in
                guard state.result == nil else { return nil }
                state.result = result
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume(with: result)
        }
    }
}
