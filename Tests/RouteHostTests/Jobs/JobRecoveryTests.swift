import Foundation
import JSONSchema
import Logging
@testable import RouteHost
import RouteHostTestSupport
import Testing

@Suite("Jobs survive restarts; old jobs are purged")
struct JobRecoveryTests {
    static func job(
        _ status: JobStatus, endpoint: String = "/v1/test/work", webhook: String?, payload: JSONValue = [:], age: TimeInterval = 0,
        attempts: Int = 0
    ) -> JobRecord {
        StoreFixture.job(status, endpoint: endpoint, webhook: webhook, payload: payload, age: age, attempts: attempts)
    }

    static func withStore<T>(_ storage: String, _ body: (SQLiteJobStore) async throws -> T) async throws -> T {
        let store = SQLiteJobStore(storagePath: storage)
        try await store.open()
        do {
            let result = try await body(store)
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }

    @Test func aVersion1DatabaseIsMigratedAndItsPendingWebhookDelivered() async throws {
        try await TemporaryDirectory.with { storage in
            let path = (storage as NSString).appendingPathComponent("jobs.sqlite")
            let jobID = UUID().uuidString.lowercased()
            try await WebhookReceiver.with { receiver in
                try await Self.writeVersion1(path: path, pendingJobID: jobID, webhookURL: receiver.url)
                try await JobsHost.with(storage: storage) { host in
                    try await receiver.waitForDeliveries(1)
                    #expect(receiver.successes.first?.jobID == jobID)
                    let status = try await host.waitForStatus(of: jobID) { $0["webhook"]?["state"] == "delivered" }
                    #expect(status["webhook"]?["attempts"] == 1)
                }
            }
        }
    }

    @Test func jobStatusNamesTheProcessThatRanTheJob() async throws {
        try await TemporaryDirectory.with { storage in
            let elsewhere = Self.job(.running, webhook: nil, payload: ["id": "old"], age: 30, attempts: 1)
            try await Self.withStore(storage) { store in
                try await store.insert(elsewhere)
                let envelope = #"{"endpoint":"/v1/test/work","code":200,"job_id":"\#(elsewhere.id)","pid":4242,"queue_id":7}"#
                try await store.finishUnheld(jobID: elsewhere.id, envelope: Array(envelope.utf8), at: Date())
            }
            try await JobsHost.with(storage: storage, ["QUEUE_WORKERS": "1"]) { host in
                let status = try await host.status(of: elsewhere.id)
                #expect(status["process_id"] == 4242)
                #expect(status["queue_id"] == 7)

                // Not finished yet: this process.
                let gate = "pid-\(UUID().uuidString)"
                defer { TestGates.open(gate) }
                let accepted = try await host.post("/v1/test/work", ["hold": .string(gate), "webhook_url": "http://127.0.0.1:1/hook"])
                let runningID = try #require(accepted.json["job_id"]?.stringValue)
                let running = try await host.waitForStatus(of: runningID) { $0["job_status"] == "running" }
                #expect(running["process_id"] == accepted.json["pid"])
                #expect(running["queue_id"] == accepted.json["queue_id"])
                #expect(running["process_id"] == .number(JSONNumber(Int(ProcessInfo.processInfo.processIdentifier))))
            }
        }
    }

    /// A version-1 database (before webhook due times) holding one finished job whose webhook
    /// is pending, made by taking a fresh file back to that schema.
    static func writeVersion1(path: String, pendingJobID: String, webhookURL: String) async throws {
        let store = SQLiteJobStore(path: path)
        try await store.open()
        for statement in [
            "DROP INDEX jobs_webhook_due",
            "ALTER TABLE jobs DROP COLUMN webhook_next_attempt_at",
            "ALTER TABLE jobs DROP COLUMN lease_owner",
            "ALTER TABLE jobs DROP COLUMN lease_expires_at",
            "ALTER TABLE jobs DROP COLUMN webhook_owner",
            "ALTER TABLE jobs DROP COLUMN webhook_claim_expires_at",
            "DROP INDEX jobs_idempotency",
            "ALTER TABLE jobs DROP COLUMN submitter",
            "ALTER TABLE jobs DROP COLUMN idempotency_key",
            "ALTER TABLE jobs DROP COLUMN request_digest",
            "ALTER TABLE jobs DROP COLUMN webhook_receiver",
            "CREATE INDEX jobs_webhook_pending ON jobs (webhook_state) WHERE webhook_state = 'pending'",
            "UPDATE schema_version SET version = 1",
        ] {
            try await store.execute(statement)
        }
        let now = Date().timeIntervalSince1970
        try await store.execute(
            """
            INSERT INTO jobs (id, endpoint, status, payload, request_id, uri, headers, webhook_url, created_at, updated_at, finished_at,
                              attempts, envelope, webhook_state)
            VALUES (?1, '/v1/test/work', 'done', '{}', 'v1', '/v1/test/work', '[]', ?2, ?3, ?3, ?3, 1, ?4, 'pending')
            """,
            [.text(pendingJobID), .text(webhookURL), .float(now), .text(#"{"job_id":"\#(pendingJobID)","code":200}"#)])
        try await store.close()
    }

    @Test func aNewServiceOnTheSameFileFinishesWhatWasLeft() async throws {
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with { receiver in
                let running = Self.job(.running, webhook: receiver.url, payload: ["id": "was-running"], age: 5, attempts: 1)
                let queued = Self.job(.queued, webhook: receiver.url, payload: ["id": "was-queued"], age: 4)
                let sync = Self.job(.running, endpoint: "/v1/test/sync", webhook: nil, payload: ["id": "sync"], age: 3, attempts: 1)
                let finished = Self.job(.running, webhook: receiver.url, payload: ["id": "finished"], age: 2, attempts: 1)
                try await Self.withStore(storage) { store in
                    for job in [running, queued, sync, finished] { try await store.insert(job) }
                    try await store.finishUnheld(jobID: finished.id, envelope: Array(#"{"job_id":"\#(finished.id)","code":200}"#.utf8), at: Date())
                }

                try await JobsHost.with(storage: storage) { host in
                    try await receiver.waitForDeliveries(3)
                    #expect(Set(receiver.successes.map(\.jobID)) == [running.id, queued.id, finished.id])
                    let rerun = try #require(receiver.successes.first { $0.jobID == running.id }?.json)
                    #expect(rerun["id"] == "was-running")
                    #expect(rerun["code"] == 200)
                    let resent = try #require(receiver.successes.first { $0.jobID == finished.id })
                    #expect(resent.body == Array(#"{"job_id":"\#(finished.id)","code":200}"#.utf8))

                    let interrupted = try await host.status(of: sync.id)
                    #expect(interrupted["job_status"] == "done")
                    #expect(interrupted["response"]?["code"] == 500)
                    #expect(interrupted["response"]?["id"] == "sync")
                    #expect(interrupted["response"]?["message"]?.stringValue?.hasPrefix("Interrupted") == true)
                    for id in [running.id, queued.id, finished.id] {
                        try await host.waitForStatus(of: id) { $0["webhook"]?["state"] == "delivered" }
                    }
                }

                let (rerunAttempts, queuedAttempts, waiting, stillRunning) = try await Self.withStore(storage) { store in
                    (
                        try await store.job(id: running.id)?.attempts, try await store.job(id: queued.id)?.attempts,
                        try await store.count(status: .queued), try await store.count(status: .running)
                    )
                }
                #expect(rerunAttempts == 2)
                #expect(queuedAttempts == 1)
                #expect(waiting == 0)
                #expect(stillRunning == 0)
            }
        }
    }

    @Test func aJobInterruptedTooOftenIsNotRunAgain() async throws {
        let counter = "poison-\(UUID().uuidString)"
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with { receiver in
                let poison = Self.job(
                    .running, webhook: receiver.url, payload: ["count": .string(counter)], attempts: DurableJobService.maximumRunAttempts)
                try await Self.withStore(storage) { try await $0.insert(poison) }
                try await JobsHost.with(storage: storage) { host in
                    try await receiver.waitForDeliveries(1)
                    let envelope = try #require(receiver.successes.first?.json)
                    #expect(envelope["code"] == 500)
                    #expect(TestGates.count(counter) == 0)
                }
            }
        }
    }

    @Test func gracefulShutdownFinishesRunningJobsAndKeepsQueuedOnes() async throws {
        let gate = "drain-\(UUID().uuidString)"
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with { receiver in
                let host = try await JobsHost.start(storage: storage, ["QUEUE_WORKERS": "1"])
                let first = try await host.post("/v1/test/work", ["hold": .string(gate), "webhook_url": .string(receiver.url)])
                let second = try await host.post("/v1/test/work", ["id": "second", "webhook_url": .string(receiver.url)])
                let firstID = try #require(first.json["job_id"]?.stringValue)
                let secondID = try #require(second.json["job_id"]?.stringValue)
                try await host.waitForStatus(of: firstID) { $0["job_status"] == "running" }

                let stopping = Task { await host.stop() }
                let service = try #require(host.server.services.jobs as? DurableJobService)
                let deadline = ContinuousClock.now + .seconds(10)
                while !service.isShuttingDown && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
                #expect(service.isShuttingDown)
                TestGates.open(gate)
                await stopping.value

                let (firstStatus, secondStatus) = try await Self.withStore(storage) { store in
                    (try await store.job(id: firstID)?.status, try await store.job(id: secondID)?.status)
                }
                #expect(firstStatus == .done)
                #expect(secondStatus == .queued)
                try await JobsHost.with(storage: storage) { host in
                    try await host.waitForStatus(of: secondID) { $0["webhook"]?["state"] == "delivered" }
                    try await host.waitForStatus(of: firstID) { $0["webhook"]?["state"] == "delivered" }
                }
                #expect(receiver.successes.filter { $0.jobID == firstID }.count == 1)
                #expect(receiver.successes.filter { $0.jobID == secondID }.count == 1)
            }
        }
    }

    @Test func retentionPurgesOldFinishedJobsOnly() async throws {
        try await TemporaryDirectory.with { storage in
            let day: TimeInterval = 86_400
            let oldDone = Self.job(.running, webhook: nil, age: 10 * day)
            let oldPending = Self.job(.running, webhook: "http://127.0.0.1:1/hook", age: 10 * day)
            let oldQueued = Self.job(.queued, webhook: "http://127.0.0.1:1/hook", age: 10 * day)
            let recent = Self.job(.running, webhook: nil, age: 60)
            try await Self.withStore(storage) { store in
                for job in [oldDone, oldPending, oldQueued, recent] { try await store.insert(job) }
                for job in [oldDone, oldPending] {
                    try await store.finishUnheld(jobID: job.id, envelope: Array("{}".utf8), at: job.createdAt)
                }
                try await store.finishUnheld(jobID: recent.id, envelope: Array("{}".utf8), at: Date())
            }
            let configuration = try HostConfiguration(environment: JobsHost.environment(storage: storage, ["JOB_RETENTION_HOURS": "24"]))
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let service = DurableJobService(
                store: SQLiteJobStore(storagePath: storage), configuration: configuration, queueID: 1, logger: logger)
            #expect(await service.purgeExpiredJobs() == 1)
            #expect(try await service.job(id: oldDone.id)?.id == nil)
            #expect(try await service.job(id: oldPending.id)?.id != nil)
            #expect(try await service.job(id: oldQueued.id)?.id != nil)
            #expect(try await service.job(id: recent.id)?.id != nil)
            #expect(await service.purgeExpiredJobs() == 0)
            await service.shutdown()

            let keepForever = try HostConfiguration(environment: JobsHost.environment(storage: storage, ["JOB_RETENTION_HOURS": "0"]))
            #expect(keepForever.jobRetention == .zero)
            let fraction = try HostConfiguration(environment: JobsHost.environment(storage: storage, ["JOB_RETENTION_HOURS": "0.5"]))
            #expect(fraction.jobRetention == .seconds(1800))
        }
    }

    @Test func webhookSettingsAreReadAndChecked() throws {
        let configuration = try HostConfiguration(environment: EnvironmentValues([
            "WEBHOOK_TIMEOUT": "0.25", "WEBHOOK_MAX_ATTEMPTS": "7", "WEBHOOK_RETRY_DELAY": "0.05",
        ]))
        #expect(configuration.webhookTimeout == .milliseconds(250))
        #expect(configuration.webhookMaxAttempts == 7)
        #expect(configuration.webhookRetryDelay == .milliseconds(50))
        #expect(configuration.webhookSigner == nil)
        let defaults = try HostConfiguration(environment: EnvironmentValues())
        #expect(defaults.webhookTimeout == .seconds(10))
        #expect(defaults.webhookMaxAttempts == 5)
        #expect(defaults.webhookRetryDelay == .seconds(1))
        #expect(defaults.jobRetention == .seconds(168 * 3600))
        for (name, value) in [("WEBHOOK_TIMEOUT", "0"), ("WEBHOOK_MAX_ATTEMPTS", "0"), ("WEBHOOK_RETRY_DELAY", "soon"), ("JOB_RETENTION_HOURS", "-1")] {
            #expect(throws: EnvironmentError.self) { try HostConfiguration(environment: EnvironmentValues([name: value])) }
        }
    }
}
