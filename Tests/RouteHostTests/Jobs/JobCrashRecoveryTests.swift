import Foundation
import JSONSchema
import NIOConcurrencyHelpers
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// A real `routehost` process killed with SIGKILL while it has a job running, jobs queued and a
/// webhook in flight, then started again on the same store.
///
/// The executable serves the repo's own `routes.json`; its queued `info` route relays to a fake
/// downloader whose answers the test holds, so which job runs at the kill is decided, not raced.
@Suite("Crash recovery with a real child process")
struct JobCrashRecoveryTests {
    static let jobCount = 4

    /// The jobs' states in the store, by job id.
    static func states(storage: String, _ ids: [String]) async throws -> [String: JobRecord] {
        let store = SQLiteJobStore(storagePath: storage)
        try await store.open()
        var jobs: [String: JobRecord] = [:]
        do {
            for id in ids { jobs[id] = try await store.job(id: id) }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        return jobs
    }

    @Test(.timeLimit(.minutes(1)))
    func killedHostLosesNothingAndDeliversEachWebhookOnce() async throws {
        try await TemporaryDirectory.with { directory in
            let storage = (directory as NSString).appendingPathComponent("storage")
            let answering = NIOLockedValueBox(false)
            try await FakeDownloader.withRunning { downloader in
                let environment = SharedQueueTests.environment(database: "", downloader: downloader, storage: storage, workers: 1)
                    .merging(["WEBHOOK_TIMEOUT": "30", "SHUTDOWN_GRACE_SECONDS": "10"]) { _, new in new }
                let gate = TestGate()
                defer { gate.open() }
                try await WebhookReceiver.with(respond: { _, _ in answering.withLockedValue { $0 } ? .ok : .hang }) { receiver in
                // First run: the first job finishes and its webhook hangs in the receiver, the
                // second is held at the downloader, the others wait. Then SIGKILL.
                let first = try await ChildHost.start(manifest: SharedQueueTests.repoManifest, directory: directory, environment: environment)
                var jobIDs: [String] = []
                do {
                    jobIDs.append(try await SharedQueueTests.submit(first, id: 0, webhook: receiver.url))
                    try await receiver.waitForRequests(1, timeout: .seconds(30))
                    downloader.set(.heldUntil(gate), for: .info)
                    for index in 1..<Self.jobCount {
                        jobIDs.append(try await SharedQueueTests.submit(first, id: index, webhook: receiver.url))
                    }
                    try await SharedQueueTests.waitUntil("the second job reaches the downloader") { downloader.stats.count(.info) == 2 }
                } catch {
                    first.kill()
                    throw error
                }
                first.kill()
                gate.open()
                downloader.set(.normal, for: .info)

                // What the crash left, read from the file.
                let left = try await Self.states(storage: storage, jobIDs)
                let running = jobIDs.filter { left[$0]?.status == .running }
                #expect(running.count == 1, "a job was running at the kill")
                #expect(jobIDs.contains { left[$0]?.status == .queued }, "jobs were waiting at the kill")
                #expect(left[jobIDs[0]]?.status == .done)
                #expect(left[jobIDs[0]]?.webhook?.state == .pending, "its webhook was in flight")

                // Second run on the same store: everything completes, each webhook once.
                answering.withLockedValue { $0 = true }
                let second = try await ChildHost.start(manifest: SharedQueueTests.repoManifest, directory: directory, environment: environment)
                do {
                    try await receiver.waitForDeliveries(Self.jobCount, timeout: .seconds(40))
                } catch {
                    second.kill()
                    throw error
                }
                #expect(await second.terminate() == 0, "SIGTERM ends the host cleanly")

                let successes = receiver.successes
                #expect(successes.count == Self.jobCount)
                for id in jobIDs {
                    #expect(successes.filter { $0.jobID == id }.count == 1, "exactly one successful webhook for \(id)")
                }
                let final = try await Self.states(storage: storage, jobIDs)
                for id in jobIDs {
                    let job = try #require(final[id])
                    #expect(job.status == .done)
                    #expect(job.envelope?["code"] == 200)
                    #expect(job.webhook?.state == .delivered)
                    #expect(job.webhook?.attempts == 1)
                    #expect(job.attempts == (running.contains(id) ? 2 : 1), "only the interrupted job ran twice")
                }
            }
            }
        }
    }
}
