import Foundation
import JSONSchema
import NIOConcurrencyHelpers
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// A real `routehost` process killed with SIGKILL while it has a job running, jobs queued and a
/// webhook in flight, then started again on the same store.
///
/// The executable only knows its compiled-in plugins, so the slow job is the toolkit's own
/// `jobs_status` handler mounted as a queued route, made slow by a store seeded with many
/// recent jobs (each run lists them all).
@Suite("Crash recovery with a real child process")
struct JobCrashRecoveryTests {
    static let seededJobs = 50_000
    static let jobCount = 4

    static let manifest = """
        {
          "version": 1,
          "modules": [
            { "name": "toolkit", "plugin": "toolkit", "prefix": "/v1/toolkit",
              "routes": [
                { "method": "POST", "path": "/job/status", "handler": "job_status" },
                { "method": "POST", "path": "/slow", "handler": "jobs_status", "queue": "webhook" } ] }
          ]
        }
        """

    /// Inserts `count` finished jobs in one statement.
    static func seed(storage: String, count: Int) async throws {
        let store = SQLiteJobStore(storagePath: storage)
        try await store.open()
        let now = Date().timeIntervalSince1970
        try await store.execute(
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
            INSERT INTO jobs (id, endpoint, status, payload, request_id, uri, headers, created_at, updated_at, finished_at, attempts, envelope)
            SELECT printf('00000000-0000-4000-8000-%012d', i), '/seed', 'done', '{}', 'seed', '/seed', '[]', ?2, ?2, ?2, 1, '{}' FROM n
            """,
            [.integer(count), .float(now)])
        try await store.close()
    }

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
            let manifest = (directory as NSString).appendingPathComponent("routes.json")
            try Data(Self.manifest.utf8).write(to: URL(fileURLWithPath: manifest))
            try await Self.seed(storage: storage, count: Self.seededJobs)
            let environment = [
                "API_KEY": JobsHost.apiKey, "LOCAL_STORAGE_PATH": storage, "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "QUEUE_WORKERS": "1", "WEBHOOK_TIMEOUT": "30",
                "WEBHOOK_RETRY_DELAY": "0.05", "LOG_LEVEL": "critical", "SHUTDOWN_GRACE_SECONDS": "10",
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            ]
            let answering = NIOLockedValueBox(false)
            try await WebhookReceiver.with(respond: { _, _ in answering.withLockedValue { $0 } ? .ok : .hang }) { receiver in
                // First run: the first job finishes and its webhook hangs in the receiver, the
                // second runs, the others wait. Then SIGKILL.
                let first = try await ChildHost.start(manifest: manifest, directory: directory, environment: environment)
                var jobIDs: [String] = []
                do {
                    for index in 0..<Self.jobCount {
                        let answer = try await first.post(
                            "/v1/toolkit/slow",
                            ["since_seconds": 86_400, "id": .number(JSONNumber(index)), "webhook_url": .string(receiver.url)])
                        #expect(answer.status == 202)
                        jobIDs.append(try #require(answer.json["job_id"]?.stringValue))
                    }
                    try await receiver.waitForRequests(1, timeout: .seconds(30))
                    try await first.waitForStatus(of: jobIDs[1], timeout: .seconds(30)) { $0["job_status"] == "running" }
                } catch {
                    first.kill()
                    throw error
                }
                first.kill()

                // What the crash left, read from the file.
                let left = try await Self.states(storage: storage, jobIDs)
                let running = jobIDs.filter { left[$0]?.status == .running }
                #expect(running.count == 1, "a job was running at the kill")
                #expect(jobIDs.contains { left[$0]?.status == .queued }, "jobs were waiting at the kill")
                #expect(left[jobIDs[0]]?.status == .done)
                #expect(left[jobIDs[0]]?.webhook?.state == .pending, "its webhook was in flight")

                // Second run on the same store: everything completes, each webhook once.
                answering.withLockedValue { $0 = true }
                let second = try await ChildHost.start(manifest: manifest, directory: directory, environment: environment)
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
