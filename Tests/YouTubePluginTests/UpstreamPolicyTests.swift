import Foundation
import RouteHost
import Testing

@Suite struct RetryPolicyTests {
    @Test func backoffDoublesAndIsCapped() {
        let policy = RetryPolicy(attempts: 6, baseDelay: .seconds(1), maxDelay: .seconds(5), jitter: 0)
        #expect(policy.delay(beforeAttempt: 2) == .seconds(1))
        #expect(policy.delay(beforeAttempt: 3) == .seconds(2))
        #expect(policy.delay(beforeAttempt: 4) == .seconds(4))
        #expect(policy.delay(beforeAttempt: 5) == .seconds(5))
    }

    @Test func jitterStaysWithinItsFraction() throws {
        let policy = RetryPolicy(attempts: 3, baseDelay: .milliseconds(100), jitter: 0.5)
        for _ in 0..<200 {
            let delay = try #require(policy.delay(beforeAttempt: 3))
            #expect(delay >= .milliseconds(200) && delay <= .milliseconds(300))
        }
    }

    @Test func retryAfterIsHonouredUpToItsCap() {
        let policy = RetryPolicy(attempts: 3, baseDelay: .milliseconds(10), jitter: 0, maxRetryAfter: .seconds(10))
        #expect(policy.delay(beforeAttempt: 2, retryAfter: .seconds(3)) == .seconds(3))
        #expect(policy.delay(beforeAttempt: 2, retryAfter: .seconds(11)) == nil)
        #expect(policy.delay(beforeAttempt: 2, retryAfter: .zero) == .milliseconds(10))
    }

    @Test func parsesRetryAfter() {
        let now = Date(timeIntervalSince1970: 1_445_412_480)
        #expect(RetryAfter.parse("120") == .seconds(120))
        #expect(RetryAfter.parse(" 7 ") == .seconds(7))
        #expect(RetryAfter.parse("-1") == nil)
        #expect(RetryAfter.parse("soon") == nil)
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT", now: now) == .seconds(0))
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:28:30 GMT", now: now.addingTimeInterval(-30)) == .seconds(60))
        #expect(RetryAfter.headerValue(.milliseconds(1500)) == "2")
        #expect(RetryAfter.headerValue(.zero) == "1")
    }
}

@Suite struct CircuitBreakerTests {
    /// Time passes on an adjustable clock: no test here depends on how fast it runs.
    @Test func opensAfterTheThresholdAndHalfOpensAfterTheCooldown() {
        let clock = HostClock.adjustable()
        let breaker = CircuitBreaker(threshold: 2, cooldown: .seconds(30), clock: clock)
        for _ in 0..<2 {
            let permit = breaker.acquire()
            #expect(permit == .allowed(trial: false))
            breaker.record(.failure, for: permit)
        }
        #expect(breaker.snapshot.state == .open)
        guard case .rejected(let retryAfter) = breaker.acquire() else { Issue.record("not rejected"); return }
        #expect(retryAfter > .seconds(29) && retryAfter <= .seconds(30))
        clock.advance(by: .seconds(29))
        guard case .rejected = breaker.acquire() else { Issue.record("a trial before the cool-down ended"); return }
        clock.advance(by: .seconds(1))
        let trial = breaker.acquire()
        #expect(trial == .allowed(trial: true))
        #expect(breaker.snapshot.state == .halfOpen)
        guard case .rejected = breaker.acquire() else { Issue.record("second request during the trial passed"); return }
        breaker.record(.success, for: trial)
        #expect(breaker.snapshot.state == .closed)
        #expect(breaker.snapshot.consecutiveFailures == 0)
    }

    @Test func aFailedTrialReopens() {
        let clock = HostClock.adjustable()
        let breaker = CircuitBreaker(threshold: 1, cooldown: .seconds(30), clock: clock)
        breaker.record(.failure, for: breaker.acquire())
        clock.advance(by: .seconds(30))
        let trial = breaker.acquire()
        #expect(trial == .allowed(trial: true))
        breaker.record(.failure, for: trial)
        #expect(breaker.snapshot.state == .open)
        guard case .rejected(let retryAfter) = breaker.acquire() else { Issue.record("not rejected"); return }
        #expect(retryAfter > .seconds(29), "a full cool-down again")
    }

    @Test func anAbandonedTrialLetsTheNextRequestTry() {
        let clock = HostClock.adjustable()
        let breaker = CircuitBreaker(threshold: 1, cooldown: .seconds(30), clock: clock)
        breaker.record(.failure, for: breaker.acquire())
        clock.advance(by: .seconds(30))
        breaker.record(.abandoned, for: breaker.acquire())
        #expect(breaker.acquire() == .allowed(trial: true))
    }

    @Test func successesResetTheRun() {
        let breaker = CircuitBreaker(threshold: 3, cooldown: .seconds(1))
        breaker.record(.failure, for: breaker.acquire())
        breaker.record(.failure, for: breaker.acquire())
        breaker.record(.success, for: breaker.acquire())
        breaker.record(.failure, for: breaker.acquire())
        #expect(breaker.snapshot.state == .closed)
        #expect(breaker.snapshot.consecutiveFailures == 1)
    }

    @Test func thresholdZeroDisables() {
        let breaker = CircuitBreaker(threshold: 0, cooldown: .seconds(1))
        for _ in 0..<10 { breaker.record(.failure, for: breaker.acquire()) }
        #expect(breaker.acquire() == .allowed(trial: false))
    }
}
