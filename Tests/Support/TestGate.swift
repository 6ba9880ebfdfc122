import NIOConcurrencyHelpers

/// A gate that holds tasks until it is opened: for a fake server's answer that must stay pending
/// until the test has done something else (no sleep standing in for "long enough").
///
/// A waiting task that is cancelled stops waiting (the fake's shutdown cancels its handlers).
public final class TestGate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// A gate that is open from the start.
    public static var opened: TestGate {
        let gate = TestGate()
        gate.open()
        return gate
    }

    /// Lets every waiting and later ``wait()`` through.
    public func open() {
        let waiters = state.withLockedValue { state in
            state.isOpen = true
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the gate is open (or the task is cancelled).
    public func wait() async {
        let id = state.withLockedValue { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let passes = state.withLockedValue { state -> Bool in
                    if state.isOpen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if passes { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
