import NIOConcurrencyHelpers

/// Whether the job store's last use worked, shared by everything that uses it (the service,
/// its workers, the webhook scheduler, the sync-job recorder): `/health` and `/ready` read it.
final class StoreHealth: Sendable {
    private let problem = NIOLockedValueBox<String?>(nil)

    /// Why the store last failed, or nil when its last use succeeded.
    var failure: String? { problem.withLockedValue { $0 } }

    func failed(_ error: any Error) {
        let reason = (error as? JobStoreError)?.message ?? "\(error)"
        problem.withLockedValue { $0 = reason }
    }

    func succeeded() {
        problem.withLockedValue { $0 = nil }
    }
}

/// How long to wait before trying a failed store write again: from 0.5 s, doubling, at most 30 s.
struct StoreRetryDelay {
    private(set) var next: Duration = .milliseconds(500)

    mutating func take() -> Duration {
        defer { next = min(next * 2, .seconds(30)) }
        return next
    }
}
