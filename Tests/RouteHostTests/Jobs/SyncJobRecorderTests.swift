import Foundation
import JSONSchema
import Logging
import NIOConcurrencyHelpers
@testable import RouteHost
import RouteHostTestSupport
import Testing

@Suite("Synchronous jobs are recorded in batches")
struct SyncJobRecorderTests {
    /// A real SQLite store that counts its batch writes.
    final class CountingStore: JobStore {
        let base: SQLiteJobStore
        let batches = NIOLockedValueBox<[Int]>([])

        init(_ base: SQLiteJobStore) { self.base = base }

        func insertAll(_ jobs: [JobRecord]) async throws {
            batches.withLockedValue { $0.append(jobs.count) }
            try await base.insertAll(jobs)
        }

        var isShared: Bool { base.isShared }
        func open() async throws { try await base.open() }
        func close() async throws { try await base.close() }
        func claimNext(_ lease: JobLease) async throws -> JobRecord? { try await base.claimNext(lease) }
        func renew(jobIDs: [String], _ lease: JobLease) async throws -> Set<String> { try await base.renew(jobIDs: jobIDs, lease) }
        func reclaimExpired(_ lease: JobLease, limit: Int) async throws -> [JobRecord] { try await base.reclaimExpired(lease, limit: limit) }
        func finish(jobID: String, envelope: [UInt8], _ lease: JobLease, webhookClaimUntil: Date?) async throws -> Bool {
            try await base.finish(jobID: jobID, envelope: envelope, lease, webhookClaimUntil: webhookClaimUntil)
        }
        func requeue(jobID: String, _ lease: JobLease) async throws { try await base.requeue(jobID: jobID, lease) }
        func claimDueWebhooks(_ lease: JobLease, limit: Int) async throws -> [PendingWebhook] { try await base.claimDueWebhooks(lease, limit: limit) }
        func nextWebhookDue() async throws -> Date? { try await base.nextWebhookDue() }
        func recordWebhook(jobID: String, _ delivery: WebhookDelivery, owner: String, at date: Date) async throws {
            try await base.recordWebhook(jobID: jobID, delivery, owner: owner, at: date)
        }
        func job(id: String) async throws -> JobRecord? { try await base.job(id: id) }
        func jobs(status: JobStatus) async throws -> [JobRecord] { try await base.jobs(status: status) }
        func count(status: JobStatus) async throws -> Int { try await base.count(status: status) }
        func pendingWebhookCount() async throws -> Int { try await base.pendingWebhookCount() }
        func statuses(updatedSince date: Date, limit: Int) async throws -> [(jobID: String, status: JobStatus)] {
            try await base.statuses(updatedSince: date, limit: limit)
        }
        func purge(updatedBefore date: Date, limit: Int) async throws -> Int { try await base.purge(updatedBefore: date, limit: limit) }
        func withHousekeepingLock(_ body: () async throws -> Void) async throws -> Bool { try await base.withHousekeepingLock(body) }
        func watch(_ wake: @escaping @Sendable () -> Void) async { await base.watch(wake) }
    }

    @Test func manyJobsAreWrittenInFewBatchesAndAllArrive() async throws {
        try await TemporaryDirectory.with { storage in
            let store = CountingStore(SQLiteJobStore(storagePath: storage))
            try await store.open()
            let recorder = SyncJobRecorder(store: store, logger: Logger(label: "test"))
            let jobs = (0..<1200).map { _ in JobRecoveryTests.job(.done, webhook: nil) }
            for job in jobs { recorder.record(job) }
            // Pending first, then the store: a record leaves the pending list only once it is written.
            let pending = recorder.pending(id: jobs[1199].id)
            let stored = try await store.job(id: jobs[1199].id)
            #expect(pending != nil || stored != nil, "a record is found before and after its write")
            await recorder.drain()
            #expect(recorder.unwritten.isEmpty)
            let batches = store.batches.withLockedValue { $0 }
            #expect(batches.reduce(0, +) == 1200)
            #expect(batches.count < 100, "\(batches.count) writes for 1200 jobs")
            #expect(try await store.count(status: .done) == 1200)
            try await store.close()
        }
    }

    @Test func aSyncJobIsFoundAtOnceAndSurvivesARestart() async throws {
        try await TemporaryDirectory.with { storage in
            let jobID = try await JobsHost.with(storage: storage) { host in
                let answer = try await host.post("/v1/test/work", ["id": "sync-1"])
                #expect(answer.status == 200)
                let jobID = try #require(answer.json["job_id"]?.stringValue)
                let status = try await host.post("/v1/toolkit/job/status", ["job_id": .string(jobID)])
                #expect(status.json["response"]?["job_status"] == "done")
                #expect(status.json["response"]?["response"]?["id"] == "sync-1")
                return jobID
            }
            try await JobsHost.with(storage: storage) { host in
                let status = try await host.post("/v1/toolkit/job/status", ["job_id": .string(jobID)])
                #expect(status.status == 200)
                #expect(status.json["response"]?["job_status"] == "done")
            }
        }
    }
}
