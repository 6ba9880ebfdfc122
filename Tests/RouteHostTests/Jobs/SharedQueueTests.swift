import Foundation
import JSONSchema
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// Two `routehost` processes on one PostgreSQL database, serving the repo's own `routes.json`
/// with the YouTube module relaying to a fake downloader.
@Suite("Several hosts share one queue", .enabled(if: TestPostgres.isEnabled), .serialized)
struct SharedQueueTests {
    static let leaseSeconds = 2.0
    static let pollSeconds = 0.5

    static var repoManifest: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("routes.json").path
    }

    static func environment(database: String, downloader: FakeDownloader, storage: String, workers: Int) -> [String: String] {
        [
            "API_KEY": JobsHost.apiKey, "DATABASE_URL": database, "LOCAL_STORAGE_PATH": storage, "QUEUE_WORKERS": "\(workers)",
            "JOB_LEASE_SECONDS": "\(leaseSeconds)", "JOB_POLL_INTERVAL_SECONDS": "\(pollSeconds)", "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "DISK_FREE_MIN_PERCENT": "0",
            "WEBHOOK_RETRY_DELAY": "0.05", "YOUTUBE_SERVICE_URL": downloader.baseURL, "LOG_LEVEL": "critical", "SHUTDOWN_GRACE_SECONDS": "5",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
    }

    static func submit(_ host: ChildHost, id: Int, webhook: String) async throws -> String {
        let answer = try await host.post(
            "/v1/media/youtube/info",
            ["url": "https://youtu.be/dQw4w9WgXcQ", "id": .string("job-\(id)"), "webhook_url": .string(webhook)])
        guard answer.status == 202, let jobID = answer.json["job_id"]?.stringValue else {
            throw TestFailure("submission \(id): HTTP \(answer.status) \(answer.json.serializedString())")
        }
        return jobID
    }

    /// Polls `condition` (after `refresh`, when given) every 10 ms until it holds, at most `timeout`.
    static func waitUntil(
        _ what: String, timeout: Duration = .seconds(20), _ condition: () -> Bool, refresh: () async throws -> Void = {}
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            try await refresh()
            if condition() { return }
            guard ContinuousClock.now < deadline else { throw TestTimeout(what) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func jobsSubmittedToEitherHostRunOnceAcrossBothAndEachDeliversOneWebhook() async throws {
        try await TestPostgres.withDatabase { database in
            try await TemporaryDirectory.with { directory in
                try await FakeDownloader.withRunning { downloader in
                    downloader.set(.slowHead(.milliseconds(250)), for: .info)
                    try await WebhookReceiver.with { receiver in
                        let first = try await ChildHost.start(
                            manifest: Self.repoManifest, directory: directory,
                            environment: Self.environment(database: database, downloader: downloader, storage: directory + "/a", workers: 2))
                        defer { first.kill() }
                        let second = try await ChildHost.start(
                            manifest: Self.repoManifest, directory: directory,
                            environment: Self.environment(database: database, downloader: downloader, storage: directory + "/b", workers: 2))
                        defer { second.kill() }

                        var jobIDs: [String] = []
                        for index in 0..<20 {
                            let host = index.isMultiple(of: 2) ? first : second
                            let jobID = try await Self.submit(host, id: index, webhook: receiver.url)
                            jobIDs.append(jobID)
                            if index == 0 {
                                let seen = try await second.status(of: jobID)
                                #expect(seen["job_id"]?.stringValue == jobID, "a job submitted to one host is visible from the other")
                            }
                        }
                        // A sync job answered by one host is found by the other once its batch is written.
                        let sync = try await first.post("/v1/media/youtube/info", ["url": "https://youtu.be/dQw4w9WgXcQ"])
                        #expect(sync.status == 200)
                        let syncID = try #require(sync.json["job_id"]?.stringValue)
                        var found: JobsResponse?
                        try await Self.waitUntil("the other host finds the sync job") {
                            found?.status == 200
                        } refresh: {
                            found = try await second.post("/v1/toolkit/job/status", ["job_id": .string(syncID)])
                        }
                        #expect(found?.json["response"]?["job_status"] == "done")

                        try await receiver.waitForDeliveries(20, timeout: .seconds(60))
                        let successes = receiver.successes
                        for jobID in jobIDs {
                            #expect(successes.filter { $0.jobID == jobID }.count == 1, "one webhook for \(jobID)")
                        }
                        #expect(downloader.stats.count(.info) == 21, "each job ran once (and the sync one)")
                        let runners = Set(successes.compactMap { $0.json?["pid"] })
                        #expect(
                            runners == [.number(JSONNumber(Int(first.process.processIdentifier))), .number(JSONNumber(Int(second.process.processIdentifier)))],
                            "both hosts ran jobs")
                        // The receiver's 2xx comes before its record: wait for the record.
                        try await first.waitForStatus(of: jobIDs[19]) { $0["webhook"]?["state"] == "delivered" }
                    }
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func theOtherHostFinishesTheJobsOfAHostKilledMidJob() async throws {
        try await TestPostgres.withDatabase { database in
            try await TemporaryDirectory.with { directory in
                try await FakeDownloader.withRunning { downloader in
                    let gate = TestGate()
                    defer { gate.open() }
                    downloader.set(.heldUntil(gate), for: .info)
                    try await WebhookReceiver.with { receiver in
                        let doomed = try await ChildHost.start(
                            manifest: Self.repoManifest, directory: directory,
                            environment: Self.environment(database: database, downloader: downloader, storage: directory + "/a", workers: 1))
                        var jobIDs: [String] = []
                        do {
                            for index in 0..<4 { jobIDs.append(try await Self.submit(doomed, id: index, webhook: receiver.url)) }
                            try await Self.waitUntil("the first job reaches the downloader") { downloader.stats.count(.info) == 1 }
                        } catch {
                            doomed.kill()
                            throw error
                        }
                        let survivor = try await ChildHost.start(
                            manifest: Self.repoManifest, directory: directory,
                            environment: Self.environment(database: database, downloader: downloader, storage: directory + "/b", workers: 1))
                        defer { survivor.kill() }
                        // The survivor cannot take the held job while its lease lives; it may take queued ones.
                        doomed.kill()
                        let killedAt = ContinuousClock.now
                        gate.open()
                        try await receiver.waitForDeliveries(4, timeout: .seconds(60))
                        let interrupted = try #require(receiver.successes.first { $0.jobID == jobIDs[0] })
                        let takeover = killedAt.duration(to: interrupted.receivedAt)
                        print("the interrupted job was delivered \(takeover) after the kill (lease \(Self.leaseSeconds) s, poll \(Self.pollSeconds) s)")
                        #expect(takeover < .seconds(Self.leaseSeconds * 3 + Self.pollSeconds + 5))

                        for jobID in jobIDs {
                            #expect(receiver.successes.filter { $0.jobID == jobID }.count == 1, "one successful webhook for \(jobID)")
                        }
                        let status = try await survivor.status(of: jobIDs[0])
                        #expect(status["job_status"] == "done")
                        #expect(status["response"]?["code"] == 200)
                        #expect(status["process_id"] == .number(JSONNumber(Int(survivor.process.processIdentifier))))
                        let store = try StoreFixture.makePostgres(database)
                        try await store.open()
                        let record = try await store.job(id: jobIDs[0])
                        try await store.close()
                        #expect(record?.attempts == 2, "the interrupted job ran again, once")
                        #expect(downloader.stats.count(.info) == 5)
                    }
                }
            }
        }
    }
}

/// `MAX_QUEUE_LENGTH` with a shared store counts what other hosts queued.
@Suite("The queue limit counts the shared queue", .enabled(if: TestPostgres.isEnabled))
struct SharedQueueLimitTests {
    @Test func jobsQueuedByAnotherHostCountTowardsTheLimit() async throws {
        try await TestPostgres.withDatabase { url in
            try await TemporaryDirectory.with { storage in
                let gate = "shared-limit-\(UUID().uuidString)"
                defer { TestGates.open(gate) }
                let store = try StoreFixture.makePostgres(url)
                let settings = ["MAX_QUEUE_LENGTH": "2", "QUEUE_WORKERS": "1", "JOB_POLL_INTERVAL_SECONDS": "0.2"]
                try await JobsHost.with(storage: storage, settings, store: store) { host in
                    // The host's one worker is busy: what is queued now stays queued.
                    let held = try await host.post("/v1/test/work", ["hold": .string(gate), "webhook_url": "http://127.0.0.1:1/hook"])
                    #expect(held.status == 202)
                    while TestGates.waiting(gate) == 0 { try await Task.sleep(for: .milliseconds(5)) }
                    // Another host queues two jobs in the same database.
                    let other = try StoreFixture.makePostgres(url)
                    try await other.open()
                    try await other.insertAll([StoreFixture.job(.queued, webhook: "http://127.0.0.1:1/hook"), StoreFixture.job(.queued, webhook: "http://127.0.0.1:1/hook")])
                    try await other.close()

                    let refused = try await host.post("/v1/test/work", ["webhook_url": "http://127.0.0.1:1/hook"])
                    #expect(refused.status == 429, "two jobs wait in the shared queue: \(refused.json.serializedString())")
                    #expect(refused.json["message"]?.stringValue?.contains("MAX_QUEUE_LENGTH (2)") == true)
                    TestGates.open(gate)
                }
            }
        }
    }
}

/// A host on PostgreSQL that is asked to stop finishes the job it runs and records it.
@Suite("Draining with a shared store", .enabled(if: TestPostgres.isEnabled))
struct SharedStoreDrainTests {
    @Test(.timeLimit(.minutes(1)))
    func aDrainingHostFinishesAndRecordsItsRunningJob() async throws {
        try await TestPostgres.withDatabase { url in
            try await TemporaryDirectory.with { storage in
                let gate = "drain-\(UUID().uuidString)"
                defer { TestGates.open(gate) }
                let host = try await JobsHost.start(storage: storage, ["DATABASE_URL": url, "SHUTDOWN_GRACE_SECONDS": "20"])
                let accepted = try await host.post("/v1/test/work", ["hold": .string(gate), "webhook_url": "http://127.0.0.1:1/hook"])
                let jobID = try #require(accepted.json["job_id"]?.stringValue)
                while TestGates.waiting(gate) == 0 { try await Task.sleep(for: .milliseconds(5)) }
                let stopping = Task { await host.stop() }
                while !host.server.services.isDraining { try await Task.sleep(for: .milliseconds(5)) }
                // The drain has begun; the job finishes now and must still reach the database.
                TestGates.open(gate)
                await stopping.value
                let store = try StoreFixture.makePostgres(url)
                try await store.open()
                let job = try await store.job(id: jobID)
                try await store.close()
                #expect(job?.status == .done, "the job the host ran while draining is recorded")
                #expect(job?.envelope?["code"] == 200)
            }
        }
    }
}
