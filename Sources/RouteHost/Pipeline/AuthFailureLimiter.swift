import Foundation
import NIOConcurrencyHelpers

/// Throttles key guessing: after `limit` failed authentications from one address within a
/// window, that address gets 429 until the window has passed. Clients with a valid key are
/// not counted.
///
/// Memory is bounded: at most `maxTrackedAddresses` windows are kept. When full, expired windows
/// are dropped, and if that frees too little the oldest eighth goes, so the cost is amortised.
public final class AuthFailureLimiter: Sendable {
    private struct Window {
        var start: ContinuousClock.Instant
        var failures: Int
    }

    private let limit: Int
    private let window: Duration
    private let maxTrackedAddresses: Int
    private let windows = NIOLockedValueBox<[String: Window]>([:])
    private let clock = ContinuousClock()

    /// - Parameter limit: failures allowed per window (`AUTH_FAILURE_LIMIT`, default 10); 0 disables.
    public init(limit: Int, window: Duration = .seconds(60), maxTrackedAddresses: Int = 100_000) {
        self.limit = limit
        self.window = window
        self.maxTrackedAddresses = maxTrackedAddresses
    }

    /// Seconds until `address` may try again, or nil when it is not blocked.
    public func blockedFor(_ address: String) -> Int? {
        guard limit > 0 else { return nil }
        let now = clock.now
        return windows.withLockedValue { windows in
            guard let entry = windows[address], entry.failures >= limit else { return nil }
            let remaining = entry.start.advanced(by: window) - now
            guard remaining > .zero else {
                windows[address] = nil
                return nil
            }
            return max(1, Int(remaining.components.seconds) + (remaining.components.attoseconds > 0 ? 1 : 0))
        }
    }

    /// The number of addresses tracked now.
    public var trackedAddresses: Int { windows.withLockedValue { $0.count } }

    public func recordFailure(_ address: String) {
        guard limit > 0 else { return }
        let now = clock.now
        windows.withLockedValue { windows in
            if var entry = windows[address], now - entry.start < window {
                entry.failures += 1
                windows[address] = entry
                return
            }
            if windows.count >= maxTrackedAddresses {
                windows = windows.filter { now - $0.value.start < window }
                let target = maxTrackedAddresses - max(1, maxTrackedAddresses / 8)
                if windows.count > target {
                    for (address, _) in windows.sorted(by: { $0.value.start < $1.value.start }).prefix(windows.count - target) {
                        windows[address] = nil
                    }
                }
            }
            windows[address] = Window(start: now, failures: 1)
        }
    }
}
