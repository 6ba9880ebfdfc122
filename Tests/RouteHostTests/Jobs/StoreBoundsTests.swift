import Foundation
import JSONSchema
import Logging
import RouteHost
import Testing

/// Work per call stays bounded however large the store grows.
@Suite struct StoreBoundsTests {
    @Test func statusListsAreCappedToTheLatestJobs() async throws {
        try await TemporaryDirectory.with { storage in
            // Oldest first: job 0 was updated 30 s ago, job 29 now.
            let jobs = (0..<30).map { JobRecoveryTests.job(.done, webhook: nil, age: TimeInterval(30 - $0)) }
            try await JobRecoveryTests.withStore(storage) { store in
                try await store.insertAll(jobs)
                let latest = try await store.statuses(updatedSince: Date().addingTimeInterval(-600), limit: 10, submitter: nil)
                #expect(latest.map(\.jobID) == jobs.suffix(10).map(\.id), "the latest ten, oldest update first")
                #expect(try await store.statuses(updatedSince: Date().addingTimeInterval(-600), limit: 100, submitter: nil).count == 30)
            }
        }
    }

    @Test func theRetentionSweepDeletesTheWholeBacklogInBatches() async throws {
        try await TemporaryDirectory.with { storage in
            let old = (0..<2_500).map { _ in JobRecoveryTests.job(.done, webhook: nil, age: 10 * 86_400) }
            let recent = JobRecoveryTests.job(.done, webhook: nil, age: 60)
            try await JobRecoveryTests.withStore(storage) { store in
                try await store.insertAll(old + [recent])
                #expect(try await store.purge(updatedBefore: Date().addingTimeInterval(-86_400), limit: 1_000) == 1_000, "one batch at most")
            }
            let configuration = try HostConfiguration(environment: JobsHost.environment(storage: storage, ["JOB_RETENTION_HOURS": "24"]))
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let service = DurableJobService(store: SQLiteJobStore(storagePath: storage), configuration: configuration, queueID: 1, logger: logger)
            #expect(await service.purgeExpiredJobs() == 1_500, "the rest, over two more batches")
            #expect(try await service.job(id: recent.id) != nil)
            await service.shutdown()
        }
    }
}
