import Foundation
import JSONSchema
import Logging
import NIOConcurrencyHelpers
import SQLiteNIO

/// The default job store: one SQLite file (`LOCAL_STORAGE_PATH/jobs.sqlite`) in WAL mode, for
/// one host (several hosts share ``PostgresJobStore``).
///
/// Durability: `synchronous=NORMAL` with WAL. A committed change survives the process being
/// killed (SIGKILL, a crash); after a power loss or kernel crash the last few commits may be
/// rolled back (the database stays consistent). Every method is a single SQL statement, so
/// each change is atomic without holding a transaction across awaits.
///
/// - Important: one process per file, enforced: ``open()`` takes the file's ``StoreLock`` (waiting
///   up to `lockTimeout` for another holder) and ``close()`` releases it. Call ``close()`` when
///   done; a store released while open closes its connection in the background. Since one
///   process owns the file, ``open()`` clears every lease and webhook hold it finds: their
///   holder has stopped.
public final class SQLiteJobStore: JobStore {
    public var isShared: Bool { false }
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
            // The file's lock is ours: whoever held a lease before has stopped.
            _ = try await connection.query("UPDATE jobs SET lease_expires_at = NULL WHERE status = 'running'")
            _ = try await connection.query(
                "UPDATE jobs SET webhook_owner = NULL, webhook_claim_expires_at = NULL WHERE webhook_owner IS NOT NULL")
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

    /// One multi-row `INSERT` per 500 jobs: a batch of synchronous jobs costs one write.
    public func insertAll(_ jobs: [JobRecord]) async throws {
        var start = 0
        while start < jobs.count {
            let chunk = jobs[start..<min(start + 500, jobs.count)]
            let rows = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", ")
            try await execute(
                """
                INSERT INTO jobs (id, endpoint, status, payload, request_id, uri, headers, webhook_url, created_at, updated_at,
                                  started_at, finished_at, attempts, envelope, submitter, idempotency_key, request_digest, webhook_receiver)
                VALUES \(rows)
                """,
                chunk.flatMap { job -> [SQLiteData] in
                    [
                        .text(job.id), .text(job.endpoint), .text(job.status.rawValue), .text(job.serializedPayload.map { String(decoding: $0, as: UTF8.self) } ?? job.payload.serializedString()),
                        .text(job.requestID), .text(job.uri), .text(StoredHeaders.encode(job.headers)), .optionalText(job.webhookURL),
                        .date(job.createdAt), .date(job.updatedAt), .optionalDate(job.startedAt), .optionalDate(job.finishedAt),
                        .integer(job.attempts), .optionalText(job.serializedEnvelope.map { String(decoding: $0, as: UTF8.self) } ?? job.envelope?.serializedString()),
                        .optionalText(job.submitter), .optionalText(job.idempotency?.key), .optionalText(job.idempotency?.digest),
                        .optionalText(job.webhookURL.flatMap { WebhookURL($0)?.receiver }),
                    ]
                })
            start += chunk.count
        }
    }

    public func claimNext(_ lease: JobLease) async throws -> JobRecord? {
        try await select(
            """
            UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?1, updated_at = ?1,
                lease_owner = ?2, lease_expires_at = ?3
            WHERE seq = (SELECT seq FROM jobs WHERE status = 'queued' ORDER BY created_at, seq LIMIT 1)
            RETURNING \(Self.columns)
            """,
            [.date(lease.start), .text(lease.owner), .date(lease.until)]
        ).first.map(Self.record)
    }

    public func renew(jobIDs: [String], _ lease: JobLease) async throws -> Set<String> {
        guard !jobIDs.isEmpty else { return [] }
        let (clause, binds) = Self.list(Set(jobIDs), firstIndex: 3)
        let rows = try await select(
            "UPDATE jobs SET lease_expires_at = ?2 WHERE status = 'running' AND lease_owner = ?1 AND id IN (\(clause)) RETURNING id",
            [.text(lease.owner), .date(lease.until)] + binds)
        return Set(rows.compactMap { $0.column("id")?.string })
    }

    public func reclaimExpired(_ lease: JobLease, limit: Int) async throws -> [JobRecord] {
        try await select(
            """
            UPDATE jobs SET lease_owner = ?1, lease_expires_at = ?3
            WHERE seq IN (
              SELECT seq FROM jobs WHERE status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < ?2)
                AND (lease_owner IS NULL OR lease_owner != ?1)
              ORDER BY created_at, seq LIMIT ?4)
            RETURNING \(Self.columns)
            """,
            [.text(lease.owner), .date(lease.start), .date(lease.until), .integer(limit)]
        ).map(Self.record)
    }

    public func finish(jobID: String, envelope: [UInt8], _ lease: JobLease, webhookClaimUntil: Date?) async throws -> Bool {
        try await !select(
            """
            UPDATE jobs SET status = 'done', envelope = ?2, finished_at = ?3, updated_at = ?3, lease_owner = NULL, lease_expires_at = NULL,
                webhook_state = CASE WHEN webhook_url IS NULL THEN NULL ELSE 'pending' END,
                webhook_next_attempt_at = CASE WHEN webhook_url IS NULL THEN NULL ELSE ?3 END,
                webhook_owner = CASE WHEN webhook_url IS NULL OR ?5 IS NULL THEN NULL ELSE ?4 END,
                webhook_claim_expires_at = CASE WHEN webhook_url IS NULL THEN NULL ELSE ?5 END
            WHERE id = ?1 AND status = 'running' AND lease_owner = ?4
            RETURNING seq
            """,
            [
                .text(jobID), .text(String(decoding: envelope, as: UTF8.self)), .date(lease.start), .text(lease.owner),
                .optionalDate(webhookClaimUntil),
            ]
        ).isEmpty
    }

    public func requeue(jobID: String, _ lease: JobLease) async throws {
        try await execute(
            """
            UPDATE jobs SET status = 'queued', updated_at = ?2, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ?1 AND status = 'running' AND lease_owner = ?3
            """,
            [.text(jobID), .date(lease.start), .text(lease.owner)])
    }

    public func claimDueWebhooks(_ lease: JobLease, limit: Int, excludingReceivers excluded: Set<String>) async throws -> [PendingWebhook] {
        guard limit > 0 else { return [] }
        let (clause, binds) = Self.list(excluded, firstIndex: 5)
        let exclusion = excluded.isEmpty ? "" : " AND (webhook_receiver IS NULL OR webhook_receiver NOT IN (\(clause)))"
        return try await select(
            """
            UPDATE jobs SET webhook_owner = ?1, webhook_claim_expires_at = ?3
            WHERE seq IN (
              SELECT seq FROM jobs
              WHERE webhook_state = 'pending' AND webhook_next_attempt_at <= ?2 AND status = 'done'
                AND (webhook_claim_expires_at IS NULL OR webhook_claim_expires_at < ?2)\(exclusion)
              ORDER BY webhook_next_attempt_at, seq LIMIT ?4)
            RETURNING \(Self.columns)
            """,
            [.text(lease.owner), .date(lease.start), .date(lease.until), .integer(limit)] + binds
        ).compactMap(Self.pendingWebhook).sorted { ($0.delivery.nextAttemptAt ?? .distantPast) < ($1.delivery.nextAttemptAt ?? .distantPast) }
    }

    public func nextWebhookDue(excludingReceivers excluded: Set<String>) async throws -> Date? {
        let (clause, binds) = Self.list(excluded, firstIndex: 1)
        let exclusion = excluded.isEmpty ? "" : " AND (webhook_receiver IS NULL OR webhook_receiver NOT IN (\(clause)))"
        let rows = try await select(
            """
            SELECT MIN(MAX(webhook_next_attempt_at, COALESCE(webhook_claim_expires_at, 0))) AS due FROM jobs
            WHERE webhook_state = 'pending' AND status = 'done'\(exclusion)
            """, binds)
        return rows.first?.column("due")?.double.map(Date.init(timeIntervalSince1970:))
    }

    public func releaseWebhooks(jobIDs: [String], owner: String) async throws {
        guard !jobIDs.isEmpty else { return }
        let (clause, binds) = Self.list(Set(jobIDs), firstIndex: 2)
        try await execute(
            "UPDATE jobs SET webhook_owner = NULL, webhook_claim_expires_at = NULL WHERE webhook_owner = ?1 AND id IN (\(clause))",
            [.text(owner)] + binds)
    }

    public func recordWebhook(jobID: String, _ delivery: WebhookDelivery, owner: String, at date: Date) async throws {
        try await execute(
            """
            UPDATE jobs SET webhook_state = ?2, webhook_attempts = ?3, webhook_last_status = ?4, webhook_last_error = ?5,
                webhook_delivered_at = ?6, updated_at = ?7, webhook_next_attempt_at = ?8, webhook_owner = NULL,
                webhook_claim_expires_at = NULL
            WHERE id = ?1 AND webhook_owner = ?9
            """,
            [
                .text(jobID), .text(delivery.state.rawValue), .integer(delivery.attempts),
                delivery.lastStatus.map { .integer($0) } ?? .null, .optionalText(delivery.lastError),
                .optionalDate(delivery.deliveredAt), .date(date),
                delivery.state == .pending ? .date(delivery.nextAttemptAt ?? date) : .null, .text(owner),
            ])
    }

    public func job(id: String) async throws -> JobRecord? {
        try await select("SELECT \(Self.columns) FROM jobs WHERE id = ?", [.text(id)]).first.map(Self.record)
    }

    public func job(idempotencyKey key: String, submitter: String?, createdSince date: Date) async throws -> JobRecord? {
        try await select(
            """
            SELECT \(Self.columns) FROM jobs WHERE idempotency_key = ?1 AND submitter IS ?2 AND created_at >= ?3
            ORDER BY created_at DESC, seq DESC LIMIT 1
            """,
            [.text(key), .optionalText(submitter), .date(date)]
        ).first.map(Self.record)
    }

    public func count(status: JobStatus) async throws -> Int {
        let rows = try await select("SELECT COUNT(*) AS n FROM jobs WHERE status = ?", [.text(status.rawValue)])
        return rows.first?.column("n")?.integer ?? 0
    }

    public func statuses(updatedSince date: Date, limit: Int, submitter: String?) async throws -> [(jobID: String, status: JobStatus)] {
        let filter = submitter == nil ? "" : " AND submitter = ?3"
        let rows = try await select(
            "SELECT id, status FROM jobs WHERE updated_at >= ?1\(filter) ORDER BY updated_at DESC, seq DESC LIMIT ?2",
            [.date(date), .integer(limit)] + (submitter.map { [.text($0)] } ?? []))
        return rows.reversed().compactMap { row in
            guard let id = row.column("id")?.string, let status = row.column("status")?.string.flatMap(JobStatus.init) else { return nil }
            return (id, status)
        }
    }

    /// The file with its write-ahead log and shared-memory index.
    public func sizeBytes() async throws -> Int {
        ["", "-wal", "-shm"].reduce(0) { total, suffix in
            let size = (try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? nil
            return total + (size ?? 0)
        }
    }

    public func pendingWebhookCount() async throws -> Int {
        let rows = try await select("SELECT COUNT(*) AS n FROM jobs WHERE webhook_state = 'pending'", [])
        return rows.first?.column("n")?.integer ?? 0
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

    public func withHousekeepingLock(_ body: () async throws -> Void) async throws -> Bool {
        try await body()
        return true
    }

    public func watch(_ wake: @escaping @Sendable () -> Void) async {}

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
        webhook_next_attempt_at, submitter, idempotency_key, request_digest
        """

    /// `?n, ...` for `ids`, numbered from `firstIndex`.
    private static func list(_ ids: Set<String>, firstIndex: Int) -> (clause: String, binds: [SQLiteData]) {
        let placeholders = (firstIndex..<(firstIndex + ids.count)).map { "?\($0)" }.joined(separator: ", ")
        return (placeholders, ids.sorted().map(SQLiteData.text))
    }

    private static func pendingWebhook(_ row: SQLiteRow) -> PendingWebhook? {
        let job = record(row)
        guard let url = job.webhookURL, let body = row.column("envelope")?.string else { return nil }
        return PendingWebhook(jobID: job.id, url: url, body: Array(body.utf8), delivery: job.webhook ?? .pending)
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
            envelope: json("envelope"), webhook: webhook, submitter: text("submitter"),
            idempotency: text("idempotency_key").map { IdempotencyKey(key: $0, digest: text("request_digest") ?? "") })
    }
}

extension SQLiteData {
    fileprivate static func date(_ date: Date) -> SQLiteData { .float(date.timeIntervalSince1970) }
    fileprivate static func optionalDate(_ date: Date?) -> SQLiteData { date.map(SQLiteData.date) ?? .null }
    fileprivate static func optionalText(_ text: String?) -> SQLiteData { text.map(SQLiteData.text) ?? .null }
}
