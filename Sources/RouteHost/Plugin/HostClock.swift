import NIOConcurrencyHelpers

/// The time that the host's timed state reads (circuit breakers, health caches): the system's
/// continuous clock, or, in tests, that clock plus an offset moved forward by hand, so that a
/// cool-down or a cache lifetime passes at once instead of being slept through.
///
/// Only instants are read from it: sleeps and deadline timers still run in real time, so a value
/// that is both compared and slept on (none today) would see two different clocks.
public struct HostClock: Sendable {
    private let offset: NIOLockedValueBox<Duration>?

    private init(offset: NIOLockedValueBox<Duration>?) {
        self.offset = offset
    }

    /// The system's continuous clock.
    public static let system = HostClock(offset: nil)

    /// A clock that moves with the system clock and with ``advance(by:)``.
    package static func adjustable() -> HostClock {
        HostClock(offset: NIOLockedValueBox(.zero))
    }

    public var now: ContinuousClock.Instant {
        guard let offset else { return .now }
        return ContinuousClock.now + offset.withLockedValue { $0 }
    }

    /// Moves an ``adjustable()`` clock forward by `duration`; does nothing to ``system``.
    package func advance(by duration: Duration) {
        offset?.withLockedValue { $0 += duration }
    }
}
