import Foundation

/// When a failed webhook attempt is tried again, and after how long.
///
/// Retried: network errors and timeouts, 5xx, 408 and 429. Not retried: any other status
/// (a 4xx says the receiver refuses this body; sending it again will not help). The delay
/// before attempt `n + 1` is the relay's exponential backoff (``RetryPolicy/backoff(beforeAttempt:)``:
/// `baseDelay × 2^(n-1)`, at most ``maximumDelay``) with ±25 % jitter, never above
/// ``maximumDelay`` (so retries at the cap still spread out). A `Retry-After` from
/// the receiver (seconds or an HTTP date, read by ``RetryAfter``) is waited for in full when it
/// is longer, but never beyond ``maximumDelay`` either: a receiver cannot park a delivery for
/// hours.
///
/// ```swift
/// let policy = WebhookRetryPolicy(maxAttempts: 5, baseDelay: .seconds(1))
/// policy.delay(after: 1, retryAfter: nil)              // 0.75 s … 1.25 s
/// policy.delay(after: 20, retryAfter: nil)             // 225 s … 300 s
/// policy.delay(after: 1, retryAfter: .seconds(3600))   // 300 s
/// ```
///
/// - Note: unlike the relay's ``RetryPolicy``, a long `Retry-After` does not end the retries:
///   nobody is waiting on a webhook, so it is tried again later instead.
public struct WebhookRetryPolicy: Sendable {
    /// `WEBHOOK_MAX_ATTEMPTS`: attempts in all, the first included.
    public var maxAttempts: Int
    /// `WEBHOOK_RETRY_DELAY`: the delay after the first failure.
    public var baseDelay: Duration
    /// The longest wait between two attempts, `Retry-After` included.
    public var maximumDelay: Duration = .seconds(300)

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
        let backoff = RetryPolicy(attempts: maxAttempts, baseDelay: baseDelay, maxDelay: maximumDelay)
            .backoff(beforeAttempt: attempt + 1)
        let jittered = min(backoff * Double.random(in: 0.75...1.25, using: &generator), maximumDelay)
        return max(jittered, min(retryAfter ?? .zero, maximumDelay))
    }

    public func delay(after attempt: Int, retryAfter: Duration?) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(after: attempt, retryAfter: retryAfter, using: &generator)
    }
}
