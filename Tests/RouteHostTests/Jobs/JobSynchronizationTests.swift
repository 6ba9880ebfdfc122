import Foundation
import NIOConcurrencyHelpers
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// The small synchronisation types under the job service: deadlines, doorbells, shutdown.
@Suite("Job synchronisation: handler deadline, doorbell, shutdown signal")
struct JobSynchronizationTests {
    /// The error `body` throws, nil when it returns.
    static func error(_ body: () async throws -> Int) async -> (any Error)? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error
        }
    }

    @Test func aDeadlineReturnsTheResultInTime() async throws {
        let value = try await HandlerDeadline.run(limit: .seconds(10)) { 42 }
        #expect(value == 42)
        let unlimited = try await HandlerDeadline.run(limit: nil) { "no limit" }
        #expect(unlimited == "no limit")
    }

    @Test func aDeadlineDoesNotWaitForWorkThatIgnoresCancellation() async throws {
        let release = TestEvent()
        let started = ContinuousClock.now
        let error = await Self.error {
            try await HandlerDeadline.run(limit: .milliseconds(100)) {
                await release.wait()
                return 1
            }
        }
        #expect(error is HandlerDeadline.Exceeded)
        #expect(ContinuousClock.now - started < .seconds(5))
        release.signal()
    }

    @Test func aDeadlineCancelsCooperativeWork() async throws {
        let cancelled = TestEvent()
        let error = await Self.error {
            try await HandlerDeadline.run(limit: .milliseconds(50)) {
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch {
                    cancelled.signal()
                    throw error
                }
                return 1
            }
        }
        #expect(error is HandlerDeadline.Exceeded)
        await cancelled.wait()
    }

    @Test func aDeadlineTimerRunsWhatIsStillArmedInOrderAndForgetsTheRest() async {
        // The disarms must come before the deadline: a second leaves room for any scheduling delay.
        let timer = DeadlineTimer(delay: .seconds(1))
        let (fired, firedContinuation) = AsyncStream.makeStream(of: Int.self)
        var tokens: [DeadlineTimer.Token] = []
        for index in 0..<6 {
            tokens.append(timer.arm { firedContinuation.yield(index) })
        }
        timer.disarm(tokens[1])
        timer.disarm(tokens[4])
        var order: [Int] = []
        for await index in fired {
            order.append(index)
            if order.count == 4 { break }
        }
        #expect(order == [0, 2, 3, 5])
        #expect(timer.armedCount == 0)

        // The timer's task ended with nothing armed; arming again starts it again.
        let again = TestEvent()
        _ = timer.arm { again.signal() }
        await again.wait()
    }

    @Test func aDeadlineThatIsMetLeavesNothingArmed() async throws {
        let limit = Duration.seconds(3600)
        for value in 0..<100 {
            let answered = try await HandlerDeadline.run(limit: limit) {
                if value.isMultiple(of: 2) { await Task.yield() }
                return value
            }
            #expect(answered == value)
        }
        #expect(DeadlineTimer.shared(delay: limit).armedCount == 0)
    }

    @Test func aDoorbellKeepsRingsUpToItsPermits() async {
        let bell = JobDoorbell(maximumPermits: 1)
        bell.ring()
        bell.ring()
        await bell.wait()  // one permit kept
        let started = ContinuousClock.now
        await bell.wait(timeout: .milliseconds(100))  // the second ring was coalesced
        #expect(ContinuousClock.now - started >= .milliseconds(90))

        let counting = JobDoorbell()
        for _ in 0..<3 { counting.ring() }
        for _ in 0..<3 { await counting.wait() }
    }

    @Test func aRingWakesAParkedWaiterAndCloseWakesAll() async {
        let bell = JobDoorbell()
        let woken = NIOLockedValueBox(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    await bell.wait()
                    woken.withLockedValue { $0 += 1 }
                }
            }
            bell.ring()
            bell.close()
            await group.waitForAll()
        }
        #expect(woken.withLockedValue { $0 } == 3)
        await bell.wait()  // closed: passes at once
    }

    @Test func shutdownEndsSleepsEarly() async {
        let signal = ShutdownSignal()
        async let slept = signal.sleep(for: .seconds(60))
        signal.trigger()
        #expect(await slept == false)
        #expect(await signal.sleep(for: .milliseconds(1)) == false)
        await signal.wait()
        #expect(await ShutdownSignal().sleep(for: .milliseconds(10)) == true)
    }
}
