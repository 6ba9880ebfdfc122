import NIOConcurrencyHelpers
import RouteHost
import Testing

@Suite struct TokenBucketLimiterTests {
    final class ManualClock: Sendable {
        private let seconds = NIOLockedValueBox(1000.0)
        var now: Double { seconds.withLockedValue { $0 } }
        func advance(_ by: Double) { seconds.withLockedValue { $0 += by } }
    }

    @Test func allowsExactlyTheBurstThenRefillsWithTime() {
        let clock = ManualClock()
        let limiter = TokenBucketLimiter(rate: 3, period: .seconds(60), clock: { clock.now })
        for expected in [2, 1, 0] {
            let decision = limiter.take("a")
            #expect(decision.allowed)
            #expect(decision.remaining == expected)
            #expect(decision.limit == 3)
        }
        let refused = limiter.take("a")
        #expect(!refused.allowed)
        #expect(refused.retryAfterSeconds == 20)
        #expect(refused.resetSeconds == 60)
        clock.advance(19.9)
        #expect(!limiter.take("a").allowed)
        clock.advance(0.2)
        #expect(limiter.take("a").allowed)
        #expect(!limiter.take("a").allowed)
        clock.advance(60)
        #expect(limiter.take("a").remaining == 2)
    }

    @Test func burstCanDifferFromRate() {
        let clock = ManualClock()
        let limiter = TokenBucketLimiter(rate: 60, period: .seconds(60), burst: 2, clock: { clock.now })
        #expect(limiter.take("a").allowed)
        #expect(limiter.take("a").allowed)
        #expect(!limiter.take("a").allowed)
        clock.advance(1)
        #expect(limiter.take("a").allowed)
    }

    @Test func keysAreIsolated() {
        let limiter = TokenBucketLimiter(rate: 1, period: .seconds(60))
        #expect(limiter.take("a").allowed)
        #expect(!limiter.take("a").allowed)
        #expect(limiter.take("b").allowed)
    }

    @Test func memoryStaysBoundedWithAHundredThousandClients() {
        let clock = ManualClock()
        let limiter = TokenBucketLimiter(rate: 10, period: .seconds(60), maxKeys: 4096, clock: { clock.now })
        for index in 0..<100_000 {
            _ = limiter.take("client-\(index)")
            if index % 1000 == 0 { clock.advance(0.001) }
        }
        #expect(limiter.trackedKeys <= 4096)
        #expect(limiter.trackedKeys > 1000)
        let recent = limiter.take("client-99999")
        #expect(recent.remaining == 8)
    }

    @Test func refilledBucketsAreEvictedFirst() {
        let clock = ManualClock()
        let limiter = TokenBucketLimiter(rate: 1, period: .seconds(1), maxKeys: 16 * 4, clock: { clock.now })
        for index in 0..<64 { _ = limiter.take("old-\(index)") }
        clock.advance(5)
        for index in 0..<64 { _ = limiter.take("new-\(index)") }
        #expect(limiter.trackedKeys <= 64)
    }
}
