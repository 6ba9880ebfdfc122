import Foundation
import JSONSchema
import Logging
import NIOConcurrencyHelpers
@testable import RouteHost
import RouteHostTestSupport
import Testing

@Suite("Synchronous jobs are recorded in batches")
struct SyncJobRecorderTests {
    @Test func aBatchTheStoreRefusesIsWrittenOnceItAcceptsAndTheWaitIsBounded() async throws {
        try await TemporaryDirectory.with { storage in
            let store = FaultyJobStore(SQLiteJobStore(storagePath: storage))
            try await store.open()
            store.failWrites([.insert])
            let logs = CapturedLogs()
            let health = StoreHealth()
            let recorder = SyncJobRecorder(store: store, storeHealth: health, maximumUnwritten: 5, logger: logs.logger())
            recorder.storeOpened()
            let jobs = (0..<8).map { _ in JobRecoveryTests.job(.done, webhook: nil) }
            for job in jobs { recorder.record(job) }
            // Wait for a refused write to be retried: the records stay answerable meanwhile.
            while store.count(.insert) < 2 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(health.failure?.contains("disk I/O error") == true)
            #expect(recorder.droppedCount == 3, "at most 5 records wait; the oldest 3 were dropped")
            #expect(logs.entries.contains { $0.message.contains("dropped the record") })
            #expect(recorder.pending(id: jobs[7].id) != nil)
            #expect(recorder.pending(id: jobs[0].id) == nil)

            store.failWrites([])
            await recorder.drain()
            #expect(health.failure == nil)
            for job in jobs[3...] {
                #expect(try await store.job(id: job.id)?.status == .done, "written once the store accepted")
            }
            #expect(try await store.count(status: .done) == 5)
            try await store.close()
        }
    }

    @Test func manyJobsAreWrittenInFewBatchesAndAllArrive() async throws {
        try await TemporaryDirectory.with { storage in
            let store = FaultyJobStore(SQLiteJobStore(storagePath: storage))
            try await store.open()
            let recorder = SyncJobRecorder(store: store, logger: Logger(label: "test"))
            recorder.storeOpened()
            let jobs = (0..<1200).map { _ in JobRecoveryTests.job(.done, webhook: nil) }
            for job in jobs { recorder.record(job) }
            // Pending first, then the store: a record leaves the pending list only once it is written.
            let pending = recorder.pending(id: jobs[1199].id)
            let stored = try await store.job(id: jobs[1199].id)
            #expect(pending != nil || stored != nil, "a record is found before and after its write")
            await recorder.drain()
            #expect(recorder.unwritten.isEmpty)
            let batches = store.writes.withLockedValue { $0 }.filter { $0.0 == .insert }.map(\.1)
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
