/// A one-way switch that the job service flips when it starts to shut down, and sleeps that
/// end early when it does.
final class ShutdownSignal: Sendable {
    private let queue = WaitQueue(false)

    var isTriggered: Bool { queue.state }

    func trigger() {
        queue.wakeAll { $0 = true }
    }

    /// Sleeps for `duration`; false when shutdown (or cancellation) ended the sleep early.
    func sleep(for duration: Duration) async -> Bool {
        if isTriggered { return false }
        let woken = await queue.wait(until: { $0 }, timeout: duration)
        return !woken && !isTriggered && !Task.isCancelled
    }

    /// Returns once triggered, or when the task is cancelled.
    func wait() async {
        await queue.wait { $0 }
    }
}
