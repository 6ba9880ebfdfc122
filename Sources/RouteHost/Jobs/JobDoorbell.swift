/// Wakes idle workers when a job is queued (and the webhook scheduler when a delivery is due).
///
/// Each ``ring()`` lets one ``wait()`` through, now or later, so a ring between a worker's
/// empty claim and its wait is not lost. Rings nobody waits for are kept as permits, at most
/// `maximumPermits` of them: a bell whose waiter re-reads everything when it wakes (the
/// webhook scheduler) keeps one, so a burst of rings costs one extra look, not one per ring.
/// ``close()`` lets every wait through for good.
final class JobDoorbell: Sendable {
    private struct State {
        var permits = 0
        var closed = false
    }

    private let queue = WaitQueue(State())
    private let maximumPermits: Int

    init(maximumPermits: Int = .max) {
        self.maximumPermits = max(1, maximumPermits)
    }

    func ring() {
        queue.wakeOne { state in state.permits = min(state.permits + 1, maximumPermits) }
    }

    func close() {
        queue.wakeAll { $0.closed = true }
    }

    /// Returns after a ring, at ``close()``, or when the task is cancelled.
    func wait() async {
        await queue.wait(until: Self.mayPass)
    }

    /// Like ``wait()``, but returns after `timeout` at the latest.
    func wait(timeout: Duration) async {
        _ = await queue.wait(until: Self.mayPass, timeout: timeout)
    }

    @Sendable private static func mayPass(_ state: inout State) -> Bool {
        if state.closed { return true }
        guard state.permits > 0 else { return false }
        state.permits -= 1
        return true
    }
}
