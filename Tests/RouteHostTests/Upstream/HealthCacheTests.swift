import NIOConcurrencyHelpers
import RouteHost
import RouteHostTestSupport
import Testing

/// The health cache on an adjustable clock, with probes held by gates: every step is an event.
@Suite struct HealthCacheTests {
    /// A probe that counts its runs; run `n` waits for `gates[n]` (runs past the list pass).
    final class Probe: Sendable {
        let runs = NIOLockedValueBox(0)
        let gates: [TestGate]

        init(gates: [TestGate]) {
            self.gates = gates
        }

        var count: Int { runs.withLockedValue { $0 } }

        func run() async -> HealthCache.Snapshot {
            let index = runs.withLockedValue { runs in
                defer { runs += 1 }
                return runs
            }
            if index < gates.count { await gates[index].wait() }
            return HealthCache.Snapshot(healthy: true)
        }
    }

    @Test func concurrentRefreshesShareOneProbe() async {
        let gate = TestGate()
        let probe = Probe(gates: [gate])
        let cache = HealthCache(ttl: .seconds(10), clock: .adjustable()) { await probe.run() }
        // Each task runs at once up to its first suspension, where it has joined the probe in flight.
        let refreshes = (0..<5).map { _ in Task.immediate { await cache.refresh() } }
        gate.open()
        for refresh in refreshes {
            let snapshot = await refresh.value
            #expect(snapshot.healthy)
        }
        #expect(probe.count == 1)
    }

    @Test func aStaleResultIsServedWhileOneProbeRefreshesIt() async {
        let clock = HostClock.adjustable()
        let held = TestGate()
        let probe = Probe(gates: [held])
        let cache = HealthCache(ttl: .seconds(10), clock: clock) { await probe.run() }
        let first = Task.immediate { await cache.current() }
        held.open()
        #expect(await first.value.healthy)

        clock.advance(by: .seconds(9.9))
        #expect(cache.cached() != nil)
        #expect(probe.count == 1, "fresh: no probe")

        let second = TestGate()
        let refreshing = Probe(gates: [TestGate.opened, second])
        let stale = HealthCache(ttl: .seconds(10), clock: clock) { await refreshing.run() }
        _ = await stale.refresh()
        clock.advance(by: .seconds(10))
        #expect(stale.cached() != nil, "a stale result is served at once")
        #expect(stale.cached() != nil, "and again, joining the probe it started")
        let refresh = Task.immediate { await stale.refresh() }
        second.open()
        _ = await refresh.value
        #expect(refreshing.count == 2, "one background probe for the stale reads and the refresh")
    }
}
