import NIOConcurrencyHelpers

/// Wakes idle workers when a job is queued.
///
/// Each ``ring()`` lets one ``wait()`` through, now or later, so a ring between a worker's
/// empty claim and its wait is not lost. ``close()`` lets every wait through for good.
final class JobDoorbell: Sendable {
    private struct State {
        var permits = 0
        var closed = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = NIOLockedValueBox(State())

    func ring() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if let (id, waiter) = state.waiters.first {
                state.waiters[id] = nil
                return waiter
            }
            state.permits += 1
            return nil
        }
        waiter?.resume()
    }

    func close() {
        let waiters = state.withLockedValue { state in
            state.closed = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns after a ring, at ``close()``, or when the task is cancelled.
    func wait() async {
        let id = state.withLockedValue { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let proceed = state.withLockedValue { state -> Bool in
                    if state.closed || Task.isCancelled { return true }
                    if state.permits > 0 {
                        state.permits -= 1
                        return true
                    }
                    state.waiters[id] = continuation
                    return false
                }
                if proceed { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
