import RouteHost
import Testing

@Suite struct AuthFailureLimiterTests {
    @Test func blocksAfterTheLimitAndOnlyThatAddress() {
        let limiter = AuthFailureLimiter(limit: 3)
        for _ in 0..<2 { limiter.recordFailure("198.51.100.7") }
        #expect(limiter.blockedFor("198.51.100.7") == nil)
        limiter.recordFailure("198.51.100.7")
        #expect((limiter.blockedFor("198.51.100.7") ?? 0) >= 1)
        #expect(limiter.blockedFor("198.51.100.8") == nil)
    }

    @Test func memoryStaysBoundedWithAHundredThousandAddresses() {
        let limiter = AuthFailureLimiter(limit: 10, maxTrackedAddresses: 4096)
        for index in 0..<100_000 { limiter.recordFailure("addr-\(index)") }
        #expect(limiter.trackedAddresses <= 4096)
        #expect(limiter.trackedAddresses > 3000)
    }

    @Test func zeroDisables() {
        let limiter = AuthFailureLimiter(limit: 0)
        for _ in 0..<50 { limiter.recordFailure("a") }
        #expect(limiter.blockedFor("a") == nil)
        #expect(limiter.trackedAddresses == 0)
    }
}
