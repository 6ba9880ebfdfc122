import Foundation
import NIOConcurrencyHelpers
import PostgresNIO
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// What only the PostgreSQL store does: migrations shared by hosts, notifications, a database
/// that is away.
@Suite("The PostgreSQL job store", .enabled(if: TestPostgres.isEnabled))
struct PostgresJobStoreTests {
    static func schemaRows(_ url: String) async throws -> [(Int, Int)] {
        try await TestPostgres.admin(url) { connection in
            var rows: [(Int, Int)] = []
            for try await row in try await connection.query("SELECT version, compatible_from FROM routehost_schema", logger: .init(label: "t"))
                .decode((Int, Int).self)
            {
                rows.append(row)
            }
            return rows
        }
    }

    @Test func hostsStartingTogetherMigrateOnce() async throws {
        try await TestPostgres.withDatabase { url in
            let stores = try (0..<4).map { _ in try StoreFixture.makePostgres(url) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in stores { group.addTask { try await store.open() } }
                try await group.waitForAll()
            }
            let rows = try await Self.schemaRows(url)
            #expect(rows.count == 1)
            #expect(rows.first?.0 == PostgresJobSchema.currentVersion)
            try await stores[0].insert(StoreFixture.job(.queued))
            #expect(try await stores[3].count(status: .queued) == 1)
            for store in stores { try await store.close() }
        }
    }

    @Test func aSchemaThatSaysItIsIncompatibleIsRefusedAndAnAdditiveOneIsUsed() async throws {
        try await TestPostgres.withDatabase { url in
            let first = try StoreFixture.makePostgres(url)
            try await first.open()
            try await first.close()
            let current = PostgresJobSchema.currentVersion
            // A newer build added to the schema but stays usable by this one.
            try await TestPostgres.admin(url) { connection in
                try await connection.query(
                    "UPDATE routehost_schema SET version = \(current + 1), compatible_from = \(current)", logger: .init(label: "t"))
            }
            let additive = try StoreFixture.makePostgres(url)
            try await additive.open()
            try await additive.close()
            #expect(try await Self.schemaRows(url).first?.0 == current + 1, "a newer schema is left as it is")

            try await TestPostgres.admin(url) { connection in
                try await connection.query("UPDATE routehost_schema SET compatible_from = \(current + 1)", logger: .init(label: "t"))
            }
            let refused = try StoreFixture.makePostgres(url)
            let error = await #expect(throws: JobStoreError.self) { try await refused.open() }
            #expect(error?.message.contains("upgrade this host") == true)
            try await refused.close()
        }
    }

    @Test func anotherHostsQueuedJobWakesTheWatcher() async throws {
        try await StoreFixture.with(.postgresql) { fixture in
            let (wakes, continuation) = AsyncStream.makeStream(of: Void.self)
            let watcher = Task { await fixture.store.watch { continuation.yield() } }
            defer { watcher.cancel() }
            var iterator = wakes.makeAsyncIterator()
            _ = await iterator.next()  // listening (a wake for what it may have missed)
            try await fixture.other.insert(StoreFixture.job(.queued))
            let woken: Void? = await iterator.next()
            #expect(woken != nil)
            watcher.cancel()
            await watcher.value
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func theWatcherReconnectsWhenItsConnectionDrops() async throws {
        try await StoreFixture.with(.postgresql) { fixture in
            let (wakes, continuation) = AsyncStream.makeStream(of: Void.self)
            let watcher = Task { await fixture.store.watch { continuation.yield() } }
            var iterator = wakes.makeAsyncIterator()
            _ = await iterator.next()  // listening
            // The server ends the listening session (a failover, an idle-session killer).
            let terminated = try await TestPostgres.admin(fixture.location) { connection -> Int in
                var count = 0
                let rows = try await connection.query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
                    logger: .init(label: "t"))
                for try await _ in rows { count += 1 }
                return count
            }
            #expect(terminated == 1, "one listening session")
            _ = await iterator.next()  // the drop: what was missed may be due
            _ = await iterator.next()  // listening again
            try await fixture.other.insert(StoreFixture.job(.queued))
            let woken: Void? = await iterator.next()
            #expect(woken != nil, "notifications arrive on the new session")
            watcher.cancel()
            await watcher.value
        }
    }

    @Test func aStatementPastTheTimeoutIsCancelledByTheServer() async throws {
        try await TestPostgres.withDatabase { url in
            let store = try PostgresJobStore(url: DatabaseURL(parsing: url), statementTimeout: .milliseconds(200), logger: StoreFixture.quietLogger)
            try await store.open()
            let error = await #expect(throws: JobStoreError.self) { try await store.run("SELECT pg_sleep(3)") }
            #expect(error?.message.contains("statement timeout") == true, "\(String(describing: error))")
            try await store.run("SELECT 1")
            try await store.close()
        }
    }

    @Test func leftoverWorkInTheSQLiteStoreIsCountedInAWarning() async throws {
        try await TemporaryDirectory.with { folder in
            let sqlite = SQLiteJobStore(storagePath: folder, logger: StoreFixture.quietLogger)
            try await sqlite.open()
            try await sqlite.insertAll([StoreFixture.job(.queued, webhook: "http://127.0.0.1:1/hook"), StoreFixture.job(.queued)])
            let finished = StoreFixture.job(.running, webhook: "http://127.0.0.1:1/hook")
            try await sqlite.insert(finished)
            try await sqlite.finishUnheld(jobID: finished.id, envelope: Array("{}".utf8), at: Date())
            try await sqlite.close()
            let logs = CapturedLogs()
            await SQLiteJobStore.warnAboutUnfinishedWork(storagePath: folder, logger: logs.logger())
            let warning = try #require(logs.entries.first { $0.level == .warning })
            #expect(warning.message.contains("PostgreSQL will not run"))
            #expect(warning.metadata["queued_jobs"] == "2")
            #expect(warning.metadata["pending_webhooks"] == "1")

            let empty = CapturedLogs()
            try await TemporaryDirectory.with { nothing in
                await SQLiteJobStore.warnAboutUnfinishedWork(storagePath: nothing, logger: empty.logger())
            }
            #expect(empty.entries.isEmpty)
        }
    }

    @Test func aDatabaseThatIsDownGivesAClearError() async throws {
        let port = 1  // nothing listens there
        let store = try PostgresJobStore(
            url: DatabaseURL(parsing: "postgres://routehost@127.0.0.1:\(port)/nothing?sslmode=disable"), connectTimeout: .seconds(2),
            logger: StoreFixture.quietLogger)
        let error = await #expect(throws: JobStoreError.self) { try await store.open() }
        #expect(error?.message.contains("cannot reach the job database at routehost@127.0.0.1:\(port)/nothing") == true)
        try await store.close()
    }
}
