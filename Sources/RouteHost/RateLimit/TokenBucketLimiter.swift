import Foundation
import NIOConcurrencyHelpers

/// Token buckets, one per client key: `capacity` tokens, refilled at `capacity` per `period`
/// (or another rate), one token per request.
///
/// Memory stays bounded however many clients appear: buckets live in shards of at most
/// `maxKeys / shards` entries. A bucket that has refilled completely is indistinguishable from
/// a new one, so those are dropped first when a shard is full; if that frees too little, the
/// least recently used eighth of the shard goes (a client evicted early starts with a full bucket).
public final class TokenBucketLimiter: Sendable {
    /// The outcome of taking a token.
    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        public var limit: Int
        public var remaining: Int
        /// Seconds until the bucket is full again.
        public var resetSeconds: Int
        /// Seconds until one token is available (0 when allowed).
        public var retryAfterSeconds: Int
    }

    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let capacity: Double
    private let refillPerSecond: Double
    private let shards: [NIOLockedValueBox<[String: Bucket]>]
    private let maxKeysPerShard: Int
    private let clock: @Sendable () -> Double

    /// - Parameters:
    ///   - rate: tokens added per `period`.
    ///   - burst: the bucket size (defaults to `rate`).
    ///   - maxKeys: the most clients tracked at once.
    ///   - clock: seconds from any fixed origin (tests pass their own).
    public init(
        rate: Int, period: Duration, burst: Int? = nil, maxKeys: Int = 100_000,
        clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }
    ) {
        let seconds = Double(period.components.seconds) + Double(period.components.attoseconds) / 1e18
        self.capacity = Double(max(1, burst ?? rate))
        self.refillPerSecond = Double(rate) / seconds
        let shardCount = 16
        self.shards = (0..<shardCount).map { _ in NIOLockedValueBox([:]) }
        self.maxKeysPerShard = max(1, maxKeys / shardCount)
        self.clock = clock
    }

    public var limit: Int { Int(capacity) }

    /// Takes a token for `key` if one is there.
    public func take(_ key: String) -> Decision {
        let now = clock()
        let shard = shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
        return shard.withLockedValue { buckets in
            if buckets.count >= maxKeysPerShard && buckets[key] == nil {
                evict(from: &buckets, now: now)
            }
            return take(from: &buckets[key, default: Bucket(tokens: capacity, updated: now)], now: now)
        }
    }

    private func take(from bucket: inout Bucket, now: Double) -> Decision {
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * refillPerSecond)
        bucket.updated = now
        let allowed = bucket.tokens >= 1
        if allowed { bucket.tokens -= 1 }
        let missing = capacity - bucket.tokens
        return Decision(
            allowed: allowed, limit: Int(capacity), remaining: Int(bucket.tokens.rounded(.down)),
            resetSeconds: Int((missing / refillPerSecond).rounded(.up)),
            retryAfterSeconds: allowed ? 0 : max(1, Int(((1 - bucket.tokens) / refillPerSecond).rounded(.up))))
    }

    /// The number of clients tracked now.
    public var trackedKeys: Int {
        shards.reduce(0) { $0 + $1.withLockedValue { $0.count } }
    }

    private func evict(from buckets: inout [String: Bucket], now: Double) {
        buckets = buckets.filter { $0.value.tokens + (now - $0.value.updated) * refillPerSecond < capacity }
        let target = maxKeysPerShard - max(1, maxKeysPerShard / 8)
        guard buckets.count > target else { return }
        let oldest = buckets.sorted { $0.value.updated < $1.value.updated }.prefix(buckets.count - target)
        for (key, _) in oldest { buckets[key] = nil }
    }
}
