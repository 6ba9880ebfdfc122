/// When and how often the relay tries a request again.
///
/// Attempt `n + 1` waits `baseDelay × 2^(n−1)` (capped at `maxDelay`) plus a random jitter of up
/// to `jitter` × that delay, so that clients that failed together do not come back together. A
/// `Retry-After` from the upstream is honoured: the wait is at least what it asks for, unless it
/// asks for more than `maxRetryAfter`, in which case the relay stops retrying and passes the
/// answer (with its `Retry-After`) on to the client.
///
/// ```swift
/// let policy = RetryPolicy(attempts: 3, baseDelay: .seconds(1))
/// policy.delay(beforeAttempt: 2)   // 1 s … 1.5 s
/// policy.delay(beforeAttempt: 3)   // 2 s … 3 s
/// ```
public struct RetryPolicy: Sendable, Equatable {
    /// Total attempts per request, the first included (1: no retry).
    public var attempts: Int
    /// The wait before the second attempt.
    public var baseDelay: Duration
    /// The longest wait between two attempts (before jitter).
    public var maxDelay: Duration
    /// The largest random addition, as a fraction of the delay (0 disables jitter).
    public var jitter: Double
    /// The longest `Retry-After` the relay waits for; a longer one ends the retries.
    public var maxRetryAfter: Duration

    public init(
        attempts: Int, baseDelay: Duration, maxDelay: Duration = .seconds(30), jitter: Double = 0.5,
        maxRetryAfter: Duration = .seconds(10)
    ) {
        self.attempts = max(1, attempts)
        self.baseDelay = baseDelay
        self.maxDelay = max(baseDelay, maxDelay)
        self.jitter = min(max(jitter, 0), 1)
        self.maxRetryAfter = maxRetryAfter
    }

    /// The exponential delay before `attempt` (2 or more), without jitter.
    public func backoff(beforeAttempt attempt: Int) -> Duration {
        let exponent = max(0, min(attempt - 2, 30))
        let delay = baseDelay * (1 << exponent)
        return min(delay, maxDelay)
    }

    /// The wait before `attempt` (2 or more): the backoff plus jitter, at least `retryAfter`.
    ///
    /// - Returns: nil when `retryAfter` exceeds ``maxRetryAfter``: don't retry.
    public func delay(beforeAttempt attempt: Int, retryAfter: Duration? = nil) -> Duration? {
        if let retryAfter, retryAfter > maxRetryAfter { return nil }
        let backoff = backoff(beforeAttempt: attempt)
        let withJitter = backoff + backoff * Double.random(in: 0...jitter)
        return max(withJitter, retryAfter ?? .zero)
    }
}
