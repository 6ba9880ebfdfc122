import Foundation

/// When a failed webhook attempt is tried again, and after how long.
///
/// Retried: network errors and timeouts, 5xx, 408 and 429. Not retried: any other status
/// (a 4xx says the receiver refuses this body; sending it again will not help). The delay
/// before attempt `n + 1` is `baseDelay × 2^(n-1)` with ±25 % jitter, at most ``maximumDelay``;
/// a `Retry-After` (seconds) from the receiver is waited for in full when it is longer, up to
/// ``maximumRetryAfter``.
public struct WebhookRetryPolicy: Sendable {
    /// `WEBHOOK_MAX_ATTEMPTS`: attempts in all, the first included.
    public var maxAttempts: Int
    /// `WEBHOOK_RETRY_DELAY`: the delay after the first failure.
    public var baseDelay: Duration
    public var maximumDelay: Duration = .seconds(300)
    public var maximumRetryAfter: Duration = .seconds(3600)

    public init(maxAttempts: Int, baseDelay: Duration) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
    }

    /// Whether an answer with `status` (nil: no answer) deserves another attempt.
    public static func isRetryable(status: Int?) -> Bool {
        guard let status else { return true }
        return status >= 500 || status == 408 || status == 429
    }

    /// The wait before the attempt that follows attempt number `attempt` (1-based).
    public func delay(after attempt: Int, retryAfter: Duration?, using generator: inout some RandomNumberGenerator) -> Duration {
        let exponent = Double(min(max(attempt - 1, 0), 30))
        let base = baseDelay.seconds * pow(2, exponent)
        let jittered = min(base * Double.random(in: 0.75...1.25, using: &generator), maximumDelay.seconds)
        let floor = retryAfter.map { min($0.seconds, maximumRetryAfter.seconds) } ?? 0
        return .milliseconds(Int64((max(jittered, floor) * 1000).rounded()))
    }

    public func delay(after attempt: Int, retryAfter: Duration?) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(after: attempt, retryAfter: retryAfter, using: &generator)
    }

    /// `Retry-After` as delta seconds (`120`); HTTP dates are ignored.
    public static func parseRetryAfter(_ value: String?) -> Duration? {
        guard let value, let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 else { return nil }
        return .seconds(seconds)
    }
}
