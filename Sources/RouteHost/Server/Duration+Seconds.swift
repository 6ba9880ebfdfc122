import NIOCore

/// The host's conversions of `Duration` (seconds as a `Double`, NIO's `TimeAmount`): one place,
/// shared by the server, the jobs and the upstream relay.
extension Duration {
    /// The duration in seconds, with fractions (`.milliseconds(1500)` → `1.5`).
    ///
    /// - Note: a `Double` holds whole nanoseconds exactly up to about 104 days; longer
    ///   durations lose sub-microsecond precision, which no setting here needs.
    public var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension TimeAmount {
    /// `duration` as a NIO `TimeAmount` (nanoseconds; anything finer is dropped).
    init(_ duration: Duration) {
        let parts = duration.components
        self = .nanoseconds(parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000)
    }
}
