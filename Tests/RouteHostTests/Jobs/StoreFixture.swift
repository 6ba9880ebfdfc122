import Foundation
import JSONSchema
import Logging
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// The job stores the contract suite runs on.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgresql

    var testDescription: String { rawValue }

    /// SQLite always; PostgreSQL when a server is given (always under `CI=true`).
    static let available: [StoreKind] = TestPostgres.isEnabled ? allCases : [.sqlite]
}

/// An empty store of one kind, opened, and a second handle on the same data as another host
/// would have it (for SQLite, which one process owns, the same handle).
struct StoreFixture: Sendable {
    let kind: StoreKind
    let store: any JobStore
    let other: any JobStore
    /// Where the data lives: the SQLite folder or the PostgreSQL URL.
    let location: String

    static let quietLogger: Logger = {
        var logger = Logger(label: "tests.store")
        logger.logLevel = .critical
        return logger
    }()

    /// A fresh store of `kind`, opened for `body` and closed after.
    static func with<T>(_ kind: StoreKind, _ body: (StoreFixture) async throws -> T) async throws -> T {
        switch kind {
        case .sqlite:
            return try await TemporaryDirectory.with { folder in
                let store = SQLiteJobStore(storagePath: folder, logger: quietLogger)
                return try await run(StoreFixture(kind: kind, store: store, other: store, location: folder), body)
            }
        case .postgresql:
            return try await TestPostgres.withDatabase { url in
                let fixture = StoreFixture(kind: kind, store: try makePostgres(url), other: try makePostgres(url), location: url)
                return try await run(fixture, body)
            }
        }
    }

    static func makePostgres(_ url: String) throws -> PostgresJobStore {
        try PostgresJobStore(url: DatabaseURL(parsing: url), poolSize: 4, logger: quietLogger)
    }

    private static func run<T>(_ fixture: StoreFixture, _ body: (StoreFixture) async throws -> T) async throws -> T {
        try await fixture.store.open()
        if fixture.kind == .postgresql { try await fixture.other.open() }
        do {
            let result = try await body(fixture)
            try await fixture.close()
            return result
        } catch {
            try? await fixture.close()
            throw error
        }
    }

    private func close() async throws {
        try await store.close()
        if kind == .postgresql { try await other.close() }
    }

    /// A job record as the service writes it.
    static func job(
        _ status: JobStatus, endpoint: String = "/v1/test/work", webhook: String? = nil, payload: JSONValue = [:], age: TimeInterval = 0,
        attempts: Int = 0
    ) -> JobRecord {
        let date = Date().addingTimeInterval(-age)
        return JobRecord(
            id: UUID().uuidString.lowercased(), endpoint: endpoint, status: status, payload: payload, requestID: "req-test",
            uri: endpoint, headers: [.userAgent: "tests"], webhookURL: webhook, createdAt: date, updatedAt: date,
            startedAt: status == .queued ? nil : date, attempts: attempts)
    }
}

extension JobStore {
    /// Finishes a `running` job that no host holds (tests insert them so), at `date`.
    func finishUnheld(jobID: String, envelope: [UInt8], at date: Date, webhookClaimUntil: Date? = nil) async throws {
        let owner = "tests"
        _ = try await reclaimExpired(JobLease(owner: owner, start: .distantFuture, until: .distantFuture), limit: 10_000)
        let finished = try await finish(jobID: jobID, envelope: envelope, JobLease(owner: owner, start: date, until: .distantFuture), webhookClaimUntil: webhookClaimUntil)
        guard finished else { throw TestFailure("job \(jobID) is not running") }
    }
}
