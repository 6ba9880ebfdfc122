import Foundation
import JSONSchema
import NIOConcurrencyHelpers

/// An upstream's health, probed off the request path and reused for a while.
///
/// - A healthy result is reused for `ttl`, a failed one for `failureTTL` (by default a fifth of
///   `ttl`), so that recovery is noticed quickly.
/// - Reading a stale result returns it at once and starts one probe in the background
///   (stale-while-revalidate); nothing waits for the network except ``refresh()`` and the very
///   first ``current()``.
/// - Concurrent callers share one probe: at most one is in flight at any time.
///
/// Nothing is probed before the first read, so building a module for `routehost check` costs
/// nothing. Call ``shutdown()`` when the owner stops: it cancels a probe in flight and refuses
/// to start new ones.
public final class HealthCache: Sendable {
    /// One probe's result.
    public struct Snapshot: Sendable {
        public var healthy: Bool
        /// Why the upstream is unhealthy (`"HTTP 503"`, `"could not connect"`, ...).
        public var reason: String?
        /// The probe's answer when it was JSON (the upstream's own health document).
        public var details: JSONValue?
        /// Whether the upstream answered at all (an unhealthy one that answered is reachable).
        public var reachable: Bool
        /// The answer of `GET <infoPath>` when the probe was healthy and that answer was JSON.
        public var serviceInfo: JSONValue?
        public var checkedAt: Date
        /// How long the probe took.
        public var latency: Duration

        public init(
            healthy: Bool, reason: String? = nil, details: JSONValue? = nil, reachable: Bool? = nil, serviceInfo: JSONValue? = nil,
            checkedAt: Date = Date(), latency: Duration = .zero
        ) {
            self.healthy = healthy
            self.reason = reason
            self.details = details
            self.reachable = reachable ?? healthy
            self.serviceInfo = serviceInfo
            self.checkedAt = checkedAt
            self.latency = latency
        }
    }

    private struct Storage {
        var latest: (snapshot: Snapshot, at: ContinuousClock.Instant)?
        var inFlight: Task<Snapshot, Never>?
        var generation = 0
        var isShutDown = false
    }

    public let ttl: Duration
    public let failureTTL: Duration
    private let clock: HostClock
    private let probe: @Sendable () async -> Snapshot
    private let storage = NIOLockedValueBox(Storage())

    /// - Parameters:
    ///   - ttl: how long a healthy result is reused.
    ///   - failureTTL: how long a failed result is reused; defaults to `ttl / 5`.
    ///   - probe: one health check; it must not throw and should time out by itself.
    public init(ttl: Duration, failureTTL: Duration? = nil, clock: HostClock = .system, probe: @escaping @Sendable () async -> Snapshot) {
        self.clock = clock
        self.ttl = ttl
        self.failureTTL = failureTTL ?? ttl / 5
        self.probe = probe
    }

    /// The latest result without waiting; starts a background probe when it is missing or stale.
    public func cached() -> Snapshot? {
        let (latest, _) = latestStartingRefreshIfStale()
        return latest
    }

    /// The latest result; waits for a probe only when there has never been one.
    public func current() async -> Snapshot {
        let (latest, task) = latestStartingRefreshIfStale()
        if let latest { return latest }
        if let task { return await task.value }
        return Snapshot(healthy: false, reason: "shutting down")
    }

    /// A fresh probe's result (joining the one in flight, if any).
    public func refresh() async -> Snapshot {
        guard let task = storage.withLockedValue({ startProbe(&$0) }) else {
            return Snapshot(healthy: false, reason: "shutting down")
        }
        return await task.value
    }

    /// Cancels the probe in flight and starts no more.
    public func shutdown() {
        let task = storage.withLockedValue { storage -> Task<Snapshot, Never>? in
            storage.isShutDown = true
            defer { storage.inFlight = nil }
            return storage.inFlight
        }
        task?.cancel()
    }

    private func latestStartingRefreshIfStale() -> (Snapshot?, Task<Snapshot, Never>?) {
        let now = clock.now
        return storage.withLockedValue { storage in
            if let latest = storage.latest {
                let lifetime = latest.snapshot.healthy ? ttl : failureTTL
                if now - latest.at < lifetime { return (latest.snapshot, nil) }
                return (latest.snapshot, startProbe(&storage))
            }
            return (nil, startProbe(&storage))
        }
    }

    /// The probe in flight, or a new one; nil after shutdown. Call with the lock held.
    private func startProbe(_ storage: inout Storage) -> Task<Snapshot, Never>? {
        if storage.isShutDown { return nil }
        if let task = storage.inFlight { return task }
        storage.generation += 1
        let generation = storage.generation
        let task = Task { [probe, weak self] in
            let snapshot = await probe()
            self?.finish(snapshot, generation: generation)
            return snapshot
        }
        storage.inFlight = task
        return task
    }

    private func finish(_ snapshot: Snapshot, generation: Int) {
        let now = clock.now
        storage.withLockedValue { storage in
            guard storage.generation == generation else { return }
            storage.inFlight = nil
            if !Task.isCancelled { storage.latest = (snapshot, now) }
        }
    }
}
