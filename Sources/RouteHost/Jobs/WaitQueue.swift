import NIOConcurrencyHelpers

/// Tasks parked until a small piece of locked state allows them through: the bookkeeping that
/// ``JobDoorbell`` and ``ShutdownSignal`` share.
///
/// A task calls ``wait(until:)`` with a condition that runs under the lock (and may consume
/// what it finds, such as a permit); if it does not hold, the task parks. Another task changes
/// the state with ``wakeOne(otherwise:)`` or ``wakeAll(after:)``. Continuations are resumed
/// after the lock is released, and a cancelled task leaves at once.
///
/// ```swift
/// let flag = WaitQueue(false)
/// // waiter:  await flag.wait { $0 }
/// // setter:  flag.wakeAll { $0 = true }
/// ```
///
/// - Note: a parked task that is woken does not re-check the condition: a wake is a hand-off
///   (``wakeOne(otherwise:)``) or a change that lets everyone through (``wakeAll(after:)``).
///   A cancelled task returns without knowing whether the condition holds; callers check.
final class WaitQueue<State: Sendable>: Sendable {
    private struct Storage {
        var state: State
        var nextID = 0
        var parked: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let storage: NIOLockedValueBox<Storage>

    init(_ state: State) {
        storage = NIOLockedValueBox(Storage(state: state))
    }

    /// The state, read under the lock.
    var state: State { storage.withLockedValue { $0.state } }

    /// Returns at once when `condition` holds (it runs under the lock and may change the state),
    /// else when woken, or when the task is cancelled.
    func wait(until condition: @Sendable (inout State) -> Bool) async {
        let id = storage.withLockedValue { storage in
            defer { storage.nextID += 1 }
            return storage.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let proceed = storage.withLockedValue { storage -> Bool in
                    if Task.isCancelled || condition(&storage.state) { return true }
                    storage.parked[id] = continuation
                    return false
                }
                if proceed { continuation.resume() }
            }
        } onCancel: {
            storage.withLockedValue { $0.parked.removeValue(forKey: id) }?.resume()
        }
    }

    /// Like ``wait(until:)``, but gives up after `timeout`.
    ///
    /// - Returns: false when the time ran out (or the task was cancelled) first.
    /// - Note: a hand-off from ``wakeOne(otherwise:)`` that coincides with the timeout can be
    ///   consumed while this returns false; use it where a missed wake only means an early look.
    func wait(until condition: @escaping @Sendable (inout State) -> Bool, timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.wait(until: condition)
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Wakes the task that has waited longest, if any; when none waits, runs `otherwise` on the
    /// state (under the lock) instead.
    func wakeOne(otherwise: (inout State) -> Void) {
        let woken = storage.withLockedValue { storage -> CheckedContinuation<Void, Never>? in
            if let id = storage.parked.keys.min() {
                return storage.parked.removeValue(forKey: id)
            }
            otherwise(&storage.state)
            return nil
        }
        woken?.resume()
    }

    /// Changes the state under the lock, then wakes every parked task.
    func wakeAll(after change: (inout State) -> Void) {
        let woken = storage.withLockedValue { storage in
            change(&storage.state)
            defer { storage.parked.removeAll() }
            return Array(storage.parked.values)
        }
        for continuation in woken { continuation.resume() }
    }
}
