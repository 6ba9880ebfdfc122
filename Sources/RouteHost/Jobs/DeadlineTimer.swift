import NIOConcurrencyHelpers

/// Runs an action when a fixed delay has passed since it was armed, unless disarmed first;
/// one timer serves every job with the same time limit.
///
/// A `Task.sleep` per job would cost a task and a system timer each, and a cancelled sleep
/// keeps its timer registered until its deadline: at thousands of jobs per second and a limit
/// of minutes, millions of them. Here arming and disarming are a dictionary insert and removal
/// under a lock, and a single task sleeps until the earliest deadline. Because every entry has
/// the same delay, entries expire in the order they were armed, so no heap is needed.
///
/// Caveat: actions run on the timer's task one after another; they must be quick (cancel a
/// task, resume a continuation).
final class DeadlineTimer: Sendable {
    /// Identifies an armed action, to disarm it.
    struct Token: Sendable {
        fileprivate let id: UInt64
    }

    private struct Entry {
        let deadline: ContinuousClock.Instant
        let action: @Sendable () -> Void
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        /// Every id below it has expired or been disarmed.
        var oldest: UInt64 = 0
        var next: UInt64 = 0
        var sleeping = false
    }

    let delay: Duration
    private let state = NIOLockedValueBox(State())

    init(delay: Duration) {
        self.delay = delay
    }

    /// Runs `action` after ``delay`` unless ``disarm(_:)`` comes first.
    func arm(_ action: @escaping @Sendable () -> Void) -> Token {
        let (id, startSleeper) = state.withLockedValue { state in
            let id = state.next
            state.next += 1
            // Read under the lock, so that ids and deadlines rise together.
            state.entries[id] = Entry(deadline: .now + delay, action: action)
            defer { state.sleeping = true }
            return (id, !state.sleeping)
        }
        if startSleeper {
            Task { await self.expire() }
        }
        return Token(id: id)
    }

    /// Forgets the action; it does not run unless it is running already.
    func disarm(_ token: Token) {
        state.withLockedValue { _ = $0.entries.removeValue(forKey: token.id) }
    }

    /// How many actions are armed.
    var armedCount: Int {
        state.withLockedValue { $0.entries.count }
    }

    /// Sleeps until the oldest entry's deadline, runs what has expired, and ends when nothing
    /// is armed (the next ``arm(_:)`` starts it again).
    private func expire() async {
        while true {
            let step = state.withLockedValue { state -> (due: [Entry], wakeAt: ContinuousClock.Instant?) in
                let now = ContinuousClock.now
                var due: [Entry] = []
                while state.oldest < state.next {
                    guard let entry = state.entries[state.oldest] else {
                        state.oldest += 1
                        continue
                    }
                    guard entry.deadline <= now else { return (due, entry.deadline) }
                    due.append(entry)
                    state.entries[state.oldest] = nil
                    state.oldest += 1
                }
                state.sleeping = false
                return (due, nil)
            }
            for entry in step.due { entry.action() }
            guard let wakeAt = step.wakeAt else { return }
            try? await Task.sleep(until: wakeAt, tolerance: .milliseconds(1), clock: .continuous)
        }
    }

    /// The timer for `delay`, shared by everyone who asks for the same delay.
    static func shared(delay: Duration) -> DeadlineTimer {
        sharedTimers.withLockedValue { timers in
            if let timer = timers[delay] { return timer }
            let timer = DeadlineTimer(delay: delay)
            timers[delay] = timer
            return timer
        }
    }

    private static let sharedTimers = NIOLockedValueBox<[Duration: DeadlineTimer]>([:])
}
