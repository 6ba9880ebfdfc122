import NIOCore

/// The host's conversions of `Duration`: one place, shared by the server, the jobs and the
/// upstream relay.
extension Duration {
    /// The duration in seconds, with fractions (`.milliseconds(1500)` → `1.5`).
    ///
    /// - Note: a `Double` holds whole nanoseconds exactly up to about 104 days; longer
    ///   durations lose sub-microsecond precision, which no setting here needs.
    public var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration as a NIO `TimeAmount` (nanoseconds; anything finer is dropped).
    var timeAmount: TimeAmount {
        .nanoseconds(components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000)
    }
}
