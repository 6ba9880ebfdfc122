import Foundation
import JSONSchema
import Logging
import NIOConcurrencyHelpers
import SQLiteNIO

/// The job store: one SQLite file (`LOCAL_STORAGE_PATH/jobs.sqlite`) in WAL mode.
///
/// Durability: `synchronous=NORMAL` with WAL. A committed change survives the process being
/// killed (SIGKILL, a crash); after a power loss or kernel crash the last few commits may be
/// rolled back (the database stays consistent). Every method is a single SQL statement, so
/// each change is atomic without holding a transaction across awaits.
///
/// - Important: one process per file, enforced: ``open()`` takes the file's ``StoreLock`` (waiting
///   up to `lockTimeout` for another holder) and ``close()`` releases it. Call ``close()`` when
///   done; a store released while open closes its connection in the background.
public final class SQLiteJobStore: JobStore {
    /// The file's path.
    public let path: String
    private let logger: Logger
    private let lockTimeout: Duration
    private let connectionBox = NIOLockedValueBox<SQLiteConnection?>(nil)
    private let lock = NIOLockedValueBox<StoreLock?>(nil)

    /// - Parameters:
    ///   - path: the database file; its folder is created when missing.
    ///   - lockTimeout: how long ``open()`` waits for another process's lock on the file
    ///     (`STORE_LOCK_TIMEOUT_SECONDS`).
    public init(path: String, lockTimeout: Duration = .seconds(30), logger: Logger = Logger(label: "routehost.jobs.sqlite")) {
        self.path = path
        self.lockTimeout = lockTimeout
        self.logger = logger
    }

    /// The store at `jobs.sqlite` in `storagePath` (`LOCAL_STORAGE_PATH`).
    public convenience init(storagePath: String, lockTimeout: Duration = .seconds(30), logger: Logger = Logger(label: "routehost.jobs.sqlite")) {
        self.init(
            path: URL(fileURLWithPath: storagePath, isDirectory: true).appendingPathComponent("jobs.sqlite").path, lockTimeout: lockTimeout,
            logger: logger)
    }

    deinit {
        if let connection = connectionBox.withLockedValue({ $0 }) {
            _ = connection.close()
        }
    }

    public func open() async throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let held = try await StoreLock.acquire(storePath: path, timeout: lockTimeout, logger: logger)
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        do {
            // Another connection (the sqlite3 shell, a backup) makes writes wait, not fail.
            _ = try await connection.query("PRAGMA busy_timeout=5000")
            _ = try await connection.query("PRAGMA journal_mode=WAL")
            _ = try await connection.query("PRAGMA synchronous=NORMAL")
            // Job ids are random, so their index is written all over: a 16 MiB page cache keeps
            // more of it in memory, and checkpoints every 4,000 pages (16 MiB of WAL) copy a page
            // written several times once.
            _ = try await connection.query("PRAGMA cache_size=-16384")
            _ = try await connection.query("PRAGMA wal_autocheckpoint=4000")
            try await SQLiteJobSchema.migrate(connection)
        } catch {
            try? await connection.close()
            throw error
        }
        connectionBox.withLockedValue { $0 = connection }
        lock.withLockedValue { $0 = held }
    }

    public func close() async throws {
        let connection = connectionBox.withLockedValue { box in
            defer { box = nil }
            return box
        }
        defer { lock.withLockedValue { $0 = nil } }
        try await connection?.close()
    }

    public func insert(_ job: JobRecord) async throws {
        try await insertAll([job])
    }

    /// One multi-row `INSERT` per 500 jobs: a batch of synchronous jobs costs one write.
    public func insertAll(_ jobs: [JobRecord]) async throws {
        var start = 0
        while start < jobs.count {
            let chunk = jobs[start..<min(start + 500, jobs.count)]
            let rows = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", ")
            try await execute(
                """
                INSERT INTO jobs (id, endpoint, status, payload, request_id, uri, headers, webhook_url, created_at, updated_at,
                                  started_at, finished_at, attempts, envelope)
                VALUES \(rows)
                """,
                chunk.flatMap { job -> [SQLiteData] in
                    [
                        .text(job.id), .text(job.endpoint), .text(job.status.rawValue), .text(job.payload.serializedString()),
                        .text(job.requestID), .text(job.uri), .text(StoredHeaders.encode(job.headers)), .optionalText(job.webhookURL),
                        .date(job.createdAt), .date(job.updatedAt), .optionalDate(job.startedAt), .optionalDate(job.finishedAt),
                        .integer(job.attempts), .optionalText(job.serializedEnvelope.map { String(decoding: $0, as: UTF8.self) } ?? job.envelope?.serializedString()),
                    ]
                })
            start += chunk.count
        }
    }

    public func claimNext(at date: Date) async throws -> JobRecord? {
        try await select(
            """
            UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?1, updated_at = ?1
            WHERE seq = (SELECT seq FROM jobs WHERE status = 'queued' ORDER BY created_at, seq LIMIT 1)
            RETURNING \(Self.columns)
            """,
            [.date(date)]
        ).first.map(Self.record)
    }

    public func finish(jobID: String, envelope: [UInt8], at date: Date) async throws {
        try await execute(
            """
            UPDATE jobs SET status = 'done', envelope = ?2, finished_at = ?3, updated_at = ?3,
                webhook_state = CASE WHEN webhook_url IS NULL THEN NULL ELSE 'pending' END,
                webhook_next_attempt_at = CASE WHEN webhook_url IS NULL THEN NULL ELSE ?3 END
            WHERE id = ?1
            """,
            [.text(jobID), .text(String(decoding: envelope, as: UTF8.self)), .date(date)])
    }

    public func requeue(jobID: String, at date: Date) async throws {
        try await execute(
            "UPDATE jobs SET status = 'queued', updated_at = ?2 WHERE id = ?1 AND status = 'running'",
            [.text(jobID), .date(date)])
    }

    public func recordWebhook(jobID: String, _ delivery: WebhookDelivery, at date: Date) async throws {
        try await execute(
            """
            UPDATE jobs SET webhook_state = ?2, webhook_attempts = ?3, webhook_last_status = ?4, webhook_last_error = ?5,
                webhook_delivered_at = ?6, updated_at = ?7, webhook_next_attempt_at = ?8
            WHERE id = ?1
            """,
            [
                .text(jobID), .text(delivery.state.rawValue), .integer(delivery.attempts),
                delivery.lastStatus.map { .integer($0) } ?? .null, .optionalText(delivery.lastError),
                .optionalDate(delivery.deliveredAt), .date(date),
                delivery.state == .pending ? .date(delivery.nextAttemptAt ?? date) : .null,
            ])
    }

    public func job(id: String) async throws -> JobRecord? {
        try await select("SELECT \(Self.columns) FROM jobs WHERE id = ?", [.text(id)]).first.map(Self.record)
    }

    public func jobs(status: JobStatus) async throws -> [JobRecord] {
        try await select("SELECT \(Self.columns) FROM jobs WHERE status = ? ORDER BY created_at, seq", [.text(status.rawValue)])
            .map(Self.record)
    }

    public func count(status: JobStatus) async throws -> Int {
        let rows = try await select("SELECT COUNT(*) AS n FROM jobs WHERE status = ?", [.text(status.rawValue)])
        return rows.first?.column("n")?.integer ?? 0
    }

    public func statuses(updatedSince date: Date, limit: Int) async throws -> [(jobID: String, status: JobStatus)] {
        let rows = try await select(
            "SELECT id, status FROM jobs WHERE updated_at >= ? ORDER BY updated_at DESC, seq DESC LIMIT ?", [.date(date), .integer(limit)])
        return rows.reversed().compactMap { row in
            guard let id = row.column("id")?.string, let status = row.column("status")?.string.flatMap(JobStatus.init) else { return nil }
            return (id, status)
        }
    }

    public func dueWebhooks(at date: Date, excluding excluded: Set<String>, limit: Int) async throws -> [PendingWebhook] {
        guard limit > 0 else { return [] }
        let (clause, binds) = Self.notIn(excluded, firstIndex: 3)
        return try await select(
            """
            SELECT \(Self.columns) FROM jobs
            WHERE webhook_state = 'pending' AND webhook_next_attempt_at <= ?1 AND status = 'done'\(clause)
            ORDER BY webhook_next_attempt_at, seq LIMIT ?2
            """,
            [.date(date), .integer(limit)] + binds
        ).compactMap { row in
            let job = Self.record(row)
            guard let url = job.webhookURL, let body = row.column("envelope")?.string else { return nil }
            return PendingWebhook(jobID: job.id, url: url, body: Array(body.utf8), delivery: job.webhook ?? .pending)
        }
    }

    public func nextWebhookDue(excluding excluded: Set<String>) async throws -> Date? {
        let (clause, binds) = Self.notIn(excluded, firstIndex: 1)
        let rows = try await select(
            "SELECT MIN(webhook_next_attempt_at) AS due FROM jobs WHERE webhook_state = 'pending' AND status = 'done'\(clause)", binds)
        return rows.first?.column("due")?.double.map(Date.init(timeIntervalSince1970:))
    }

    public func purge(updatedBefore date: Date, limit: Int) async throws -> Int {
        try await select(
            """
            DELETE FROM jobs WHERE seq IN (
              SELECT seq FROM jobs WHERE status = 'done' AND updated_at < ? AND (webhook_state IS NULL OR webhook_state != 'pending')
              ORDER BY updated_at LIMIT ?)
            RETURNING seq
            """,
            [.date(date), .integer(limit)]
        ).count
    }

    /// Runs one statement (tests use it to prepare a database).
    func execute(_ sql: String, _ binds: [SQLiteData] = []) async throws {
        try await connection().query(sql, binds) { _ in }
    }

    private func select(_ sql: String, _ binds: [SQLiteData]) async throws -> [SQLiteRow] {
        try await connection().query(sql, binds)
    }

    private func connection() throws -> SQLiteConnection {
        guard let connection = connectionBox.withLockedValue({ $0 }) else {
            throw JobStoreError("the job store at \(path) is not open")
        }
        return connection
    }

    private static let columns = """
        id, endpoint, status, payload, request_id, uri, headers, webhook_url, created_at, updated_at, started_at, finished_at,
        attempts, envelope, webhook_state, webhook_attempts, webhook_last_status, webhook_last_error, webhook_delivered_at,
        webhook_next_attempt_at
        """

    /// ` AND id NOT IN (?n, ...)` for `ids`, numbered from `firstIndex`; empty for no ids.
    private static func notIn(_ ids: Set<String>, firstIndex: Int) -> (clause: String, binds: [SQLiteData]) {
        guard !ids.isEmpty else { return ("", []) }
        let placeholders = (firstIndex..<(firstIndex + ids.count)).map { "?\($0)" }.joined(separator: ", ")
        return (" AND id NOT IN (\(placeholders))", ids.sorted().map(SQLiteData.text))
    }

    private static func record(_ row: SQLiteRow) -> JobRecord {
        func text(_ name: String) -> String? { row.column(name)?.string }
        func date(_ name: String) -> Date? { row.column(name)?.double.map(Date.init(timeIntervalSince1970:)) }
        func json(_ name: String) -> JSONValue? { text(name).flatMap { try? JSONParser.parse($0) } }
        var webhook: WebhookDelivery?
        if let state = text("webhook_state").flatMap(WebhookDelivery.State.init) {
            webhook = WebhookDelivery(
                state: state, attempts: row.column("webhook_attempts")?.integer ?? 0,
                lastStatus: row.column("webhook_last_status")?.integer, lastError: text("webhook_last_error"),
                deliveredAt: date("webhook_delivered_at"), nextAttemptAt: date("webhook_next_attempt_at"))
        }
        return JobRecord(
            id: text("id") ?? "", endpoint: text("endpoint") ?? "", status: text("status").flatMap(JobStatus.init) ?? .queued,
            payload: json("payload") ?? .null, requestID: text("request_id") ?? "", uri: text("uri") ?? "",
            headers: StoredHeaders.decode(text("headers") ?? "[]"), webhookURL: text("webhook_url"),
            createdAt: date("created_at") ?? Date(timeIntervalSince1970: 0), updatedAt: date("updated_at") ?? Date(timeIntervalSince1970: 0),
            startedAt: date("started_at"), finishedAt: date("finished_at"), attempts: row.column("attempts")?.integer ?? 0,
            envelope: json("envelope"), webhook: webhook)
    }
}

extension SQLiteData {
    fileprivate static func date(_ date: Date) -> SQLiteData { .float(date.timeIntervalSince1970) }
    fileprivate static func optionalDate(_ date: Date?) -> SQLiteData { date.map(SQLiteData.date) ?? .null }
    fileprivate static func optionalText(_ text: String?) -> SQLiteData { text.map(SQLiteData.text) ?? .null }
}
