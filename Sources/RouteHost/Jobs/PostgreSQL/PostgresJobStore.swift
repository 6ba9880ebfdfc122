import Foundation
import JSONSchema
import Logging
import NIOConcurrencyHelpers
import NIOSSL
import PostgresNIO

/// The job store several hosts share: PostgreSQL (`DATABASE_URL`), through a pool of
/// `DATABASE_POOL_SIZE` connections and one more that listens for notifications.
///
/// - Claims (`claimNext`, `claimDueWebhooks`, `reclaimExpired`) lock the rows they take with
///   `FOR UPDATE SKIP LOCKED`, so hosts claiming at once never wait for each other nor take
///   the same row.
/// - Queuing a job (or leaving a webhook due to nobody) sends `NOTIFY routehost_jobs` in the
///   same statement; ``watch(_:)`` listens on a connection of its own (a pooled one is recycled
///   and would lose its subscription), reconnecting when it drops. Notifications only make
///   hosts look sooner: the service also polls.
/// - Times are the hosts' clocks (leases compare them across hosts): keep them in sync (NTP).
/// - ``open()`` may be called again after it failed (the database was down): the pool stays,
///   and the migration is retried.
public final class PostgresJobStore: JobStore {
    public var isShared: Bool { true }
    /// Where it connects, without the password.
    public let displayName: String
    private let clientConfiguration: PostgresClient.Configuration
    private let listenerConfiguration: PostgresConnection.Configuration
    private let connectTimeout: Duration
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    static let channel = "routehost_jobs"

    private struct State {
        var client: PostgresClient?
        var runner: Task<Void, Never>?
        var migrated = false
    }

    /// - Parameters:
    ///   - poolSize: `DATABASE_POOL_SIZE`.
    ///   - statementTimeout: `DATABASE_STATEMENT_TIMEOUT_SECONDS`, sent as `statement_timeout`; nil for none.
    ///   - connectTimeout: `DATABASE_CONNECT_TIMEOUT_SECONDS`.
    public init(
        url: DatabaseURL, poolSize: Int = 10, statementTimeout: Duration? = .seconds(30), connectTimeout: Duration = .seconds(10),
        logger: Logger = Logger(label: "routehost.jobs.postgres")
    ) throws {
        displayName = url.displayName
        self.connectTimeout = connectTimeout
        self.logger = logger
        var parameters: [(String, String)] = [("application_name", url.applicationName ?? "routehost")]
        if let statementTimeout, statementTimeout > .zero {
            parameters.append(("statement_timeout", "\(Int64((statementTimeout.secondsValue * 1000).rounded()))"))
        }
        let (clientTLS, listenerTLS) = try Self.tls(url.tlsMode)
        var client: PostgresClient.Configuration
        var listener: PostgresConnection.Configuration
        switch url.endpoint {
        case .tcp(let host, let port):
            client = .init(host: host, port: port, username: url.user, password: url.password, database: url.database, tls: clientTLS)
            listener = .init(host: host, port: port, username: url.user, password: url.password, database: url.database, tls: listenerTLS)
        case .unixSocket(let path):
            client = .init(unixSocketPath: path, username: url.user, password: url.password, database: url.database)
            listener = .init(unixSocketPath: path, username: url.user, password: url.password, database: url.database)
        }
        client.options.maximumConnections = max(1, poolSize)
        client.options.connectTimeout = connectTimeout
        client.options.additionalStartupParameters = parameters
        listener.options.connectTimeout = .milliseconds(Int64((connectTimeout.secondsValue * 1000).rounded()))
        listener.options.additionalStartupParameters = parameters
        clientConfiguration = client
        listenerConfiguration = listener
    }

    deinit {
        state.withLockedValue { $0.runner?.cancel() }
    }

    public func open() async throws {
        let client = state.withLockedValue { state -> PostgresClient in
            if let client = state.client { return client }
            let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
            state.client = client
            // Detached: a task inherits the service's graceful-shutdown context, and the client
            // (itself a Service) would close its pool as soon as the host begins to drain, while
            // the workers still need it. ``close()`` ends it.
            state.runner = Task.detached { await client.run() }
            return client
        }
        if state.withLockedValue({ $0.migrated }) { return }
        let migrationLogger = logger
        do {
            try await withConnection(client) { connection in try await PostgresJobSchema.migrate(connection, logger: migrationLogger) }
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError("cannot reach the job database at \(displayName): \(Self.reason(error))")
        }
        state.withLockedValue { $0.migrated = true }
    }

    public func close() async throws {
        let runner = state.withLockedValue { state -> Task<Void, Never>? in
            defer {
                state.client = nil
                state.runner = nil
                state.migrated = false
            }
            return state.runner
        }
        runner?.cancel()
        await runner?.value
    }

    public func insertAll(_ jobs: [JobRecord]) async throws {
        var start = 0
        while start < jobs.count {
            let chunk = jobs[start..<min(start + 500, jobs.count)]
            var binds = PostgresBindings(capacity: chunk.count * 18)
            var rows: [String] = []
            for job in chunk {
                let first = binds.count + 1
                rows.append(
                    "(" + (first..<(first + 18)).map { n in n >= first + 8 && n <= first + 11 ? "$\(n)::timestamptz" : "$\(n)" }.joined(separator: ", ")
                        + ")")
                binds.append(job.id)
                binds.append(job.endpoint)
                binds.append(job.status.rawValue)
                binds.append(job.serializedPayload.map { String(decoding: $0, as: UTF8.self) } ?? job.payload.serializedString())
                binds.append(job.requestID)
                binds.append(job.uri)
                binds.append(StoredHeaders.encode(job.headers))
                binds.append(job.webhookURL)
                binds.append(job.createdAt)
                binds.append(job.updatedAt)
                binds.append(job.startedAt)
                binds.append(job.finishedAt)
                binds.append(job.attempts)
                binds.append(job.serializedEnvelope.map { String(decoding: $0, as: UTF8.self) } ?? job.envelope?.serializedString())
                binds.append(job.submitter)
                binds.append(job.idempotency?.key)
                binds.append(job.idempotency?.digest)
                binds.append(job.webhookURL.flatMap { WebhookURL($0)?.receiver })
            }
            let notifies = chunk.contains { $0.status == .queued }
            let insert = """
                INSERT INTO routehost_jobs (id, endpoint, status, payload, request_id, uri, headers, webhook_url, created_at, updated_at,
                                            started_at, finished_at, attempts, envelope, submitter, idempotency_key, request_digest, webhook_receiver)
                VALUES \(rows.joined(separator: ", "))
                """
            let sql = notifies ? "WITH inserted AS (\(insert) RETURNING 1) SELECT pg_notify('\(Self.channel)', 'job') FROM inserted LIMIT 1" : insert
            try await run(PostgresQuery(unsafeSQL: sql, binds: binds))
            start += chunk.count
        }
    }

    public func claimNext(_ lease: JobLease) async throws -> JobRecord? {
        try await select(
            """
            UPDATE routehost_jobs SET status = 'running', attempts = attempts + 1, started_at = \(lease.start), updated_at = \(lease.start),
                lease_owner = \(lease.owner), lease_expires_at = \(lease.until)
            WHERE seq = (SELECT seq FROM routehost_jobs WHERE status = 'queued' ORDER BY created_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: Self.columns)
            """
        ).first.map(Self.record)
    }

    public func renew(jobIDs: [String], _ lease: JobLease) async throws -> Set<String> {
        guard !jobIDs.isEmpty else { return [] }
        let rows = try await select(
            """
            UPDATE routehost_jobs SET lease_expires_at = \(lease.until)
            WHERE status = 'running' AND lease_owner = \(lease.owner) AND id = ANY(\(jobIDs)::text[])
            RETURNING id
            """)
        return Set(rows.compactMap { try? $0["id"].decode(String.self) })
    }

    public func reclaimExpired(_ lease: JobLease, limit: Int) async throws -> [JobRecord] {
        try await select(
            """
            UPDATE routehost_jobs SET lease_owner = \(lease.owner), lease_expires_at = \(lease.until)
            WHERE seq IN (
              SELECT seq FROM routehost_jobs WHERE status = 'running'
                AND (lease_expires_at IS NULL OR lease_expires_at < \(lease.start))
                AND (lease_owner IS NULL OR lease_owner <> \(lease.owner))
              ORDER BY created_at, seq LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: Self.columns)
            """
        ).map(Self.record)
    }

    public func finish(jobID: String, envelope: [UInt8], _ lease: JobLease, webhookClaimUntil: Date?) async throws -> Bool {
        let body = String(decoding: envelope, as: UTF8.self)
        let rows = try await select(
            """
            WITH finished AS (
              UPDATE routehost_jobs SET status = 'done', envelope = \(body), finished_at = \(lease.start), updated_at = \(lease.start),
                  lease_owner = NULL, lease_expires_at = NULL,
                  webhook_state = CASE WHEN webhook_url IS NULL THEN NULL ELSE 'pending' END,
                  webhook_next_attempt_at = CASE WHEN webhook_url IS NULL THEN NULL ELSE \(lease.start)::timestamptz END,
                  webhook_owner = CASE WHEN webhook_url IS NULL OR \(webhookClaimUntil)::timestamptz IS NULL THEN NULL ELSE \(lease.owner) END,
                  webhook_claim_expires_at = CASE WHEN webhook_url IS NULL THEN NULL ELSE \(webhookClaimUntil)::timestamptz END
              WHERE id = \(jobID) AND status = 'running' AND lease_owner = \(lease.owner)
              RETURNING webhook_url, webhook_owner),
            notified AS (
              SELECT pg_notify('\(unescaped: Self.channel)', 'webhook') FROM finished WHERE webhook_url IS NOT NULL AND webhook_owner IS NULL)
            SELECT (SELECT COUNT(*) FROM finished)::bigint AS finished, (SELECT COUNT(*) FROM notified)::bigint AS notified
            """)
        return try (rows.first?["finished"].decode(Int.self) ?? 0) > 0
    }

    public func requeue(jobID: String, _ lease: JobLease) async throws {
        try await run(
            """
            WITH requeued AS (
              UPDATE routehost_jobs SET status = 'queued', updated_at = \(lease.start), lease_owner = NULL, lease_expires_at = NULL
              WHERE id = \(jobID) AND status = 'running' AND lease_owner = \(lease.owner)
              RETURNING 1)
            SELECT pg_notify('\(unescaped: Self.channel)', 'job') FROM requeued
            """)
    }

    public func claimDueWebhooks(_ lease: JobLease, limit: Int, excludingReceivers excluded: Set<String>) async throws -> [PendingWebhook] {
        guard limit > 0 else { return [] }
        return try await select(
            """
            UPDATE routehost_jobs SET webhook_owner = \(lease.owner), webhook_claim_expires_at = \(lease.until)
            WHERE seq IN (
              SELECT seq FROM routehost_jobs
              WHERE webhook_state = 'pending' AND webhook_next_attempt_at <= \(lease.start) AND status = 'done'
                AND (webhook_claim_expires_at IS NULL OR webhook_claim_expires_at < \(lease.start))
                AND (webhook_receiver IS NULL OR webhook_receiver <> ALL(\(excluded.sorted())::text[]))
              ORDER BY webhook_next_attempt_at, seq LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: Self.columns)
            """
        ).compactMap(Self.pendingWebhook).sorted { ($0.delivery.nextAttemptAt ?? .distantPast) < ($1.delivery.nextAttemptAt ?? .distantPast) }
    }

    public func nextWebhookDue(excludingReceivers excluded: Set<String>) async throws -> Date? {
        let rows = try await select(
            """
            SELECT MIN(GREATEST(webhook_next_attempt_at, COALESCE(webhook_claim_expires_at, webhook_next_attempt_at))) AS due
            FROM routehost_jobs WHERE webhook_state = 'pending' AND status = 'done'
              AND (webhook_receiver IS NULL OR webhook_receiver <> ALL(\(excluded.sorted())::text[]))
            """)
        return try rows.first?["due"].decode(Date?.self)
    }

    public func releaseWebhooks(jobIDs: [String], owner: String) async throws {
        guard !jobIDs.isEmpty else { return }
        try await run(
            """
            UPDATE routehost_jobs SET webhook_owner = NULL, webhook_claim_expires_at = NULL
            WHERE webhook_owner = \(owner) AND id = ANY(\(jobIDs)::text[])
            """)
    }

    public func recordWebhook(jobID: String, _ delivery: WebhookDelivery, owner: String, at date: Date) async throws {
        let next: Date? = delivery.state == .pending ? (delivery.nextAttemptAt ?? date) : nil
        try await run(
            """
            UPDATE routehost_jobs SET webhook_state = \(delivery.state.rawValue), webhook_attempts = \(delivery.attempts),
                webhook_last_status = \(delivery.lastStatus)::integer, webhook_last_error = \(delivery.lastError)::text,
                webhook_delivered_at = \(delivery.deliveredAt)::timestamptz, updated_at = \(date),
                webhook_next_attempt_at = \(next)::timestamptz, webhook_owner = NULL, webhook_claim_expires_at = NULL
            WHERE id = \(jobID) AND webhook_owner = \(owner)
            """)
    }

    public func job(id: String) async throws -> JobRecord? {
        try await select("SELECT \(unescaped: Self.columns) FROM routehost_jobs WHERE id = \(id)").first.map(Self.record)
    }

    public func job(idempotencyKey key: String, submitter: String?, createdSince date: Date) async throws -> JobRecord? {
        try await select(
            """
            SELECT \(unescaped: Self.columns) FROM routehost_jobs
            WHERE idempotency_key = \(key) AND submitter IS NOT DISTINCT FROM \(submitter)::text AND created_at >= \(date)
            ORDER BY created_at DESC, seq DESC LIMIT 1
            """
        ).first.map(Self.record)
    }

    public func count(status: JobStatus) async throws -> Int {
        let rows = try await select("SELECT COUNT(*)::bigint AS n FROM routehost_jobs WHERE status = \(status.rawValue)")
        return try rows.first?["n"].decode(Int.self) ?? 0
    }

    /// The whole database's size (`pg_database_size`), RouteHost's tables and any others in it.
    public func sizeBytes() async throws -> Int {
        let rows = try await select("SELECT pg_database_size(current_database())::bigint AS n")
        return try rows.first?["n"].decode(Int.self) ?? 0
    }

    public func pendingWebhookCount() async throws -> Int {
        let rows = try await select("SELECT COUNT(*)::bigint AS n FROM routehost_jobs WHERE webhook_state = 'pending'")
        return try rows.first?["n"].decode(Int.self) ?? 0
    }

    public func statuses(updatedSince date: Date, limit: Int, submitter: String?) async throws -> [(jobID: String, status: JobStatus)] {
        let rows = try await select(
            """
            SELECT id, status FROM routehost_jobs WHERE updated_at >= \(date) AND (\(submitter)::text IS NULL OR submitter = \(submitter)::text)
            ORDER BY updated_at DESC, seq DESC LIMIT \(limit)
            """)
        return rows.reversed().compactMap { row in
            guard let id = try? row["id"].decode(String.self), let status = (try? row["status"].decode(String.self)).flatMap(JobStatus.init) else {
                return nil
            }
            return (id, status)
        }
    }

    public func purge(updatedBefore date: Date, limit: Int) async throws -> Int {
        try await select(
            """
            DELETE FROM routehost_jobs WHERE seq IN (
              SELECT seq FROM routehost_jobs
              WHERE status = 'done' AND updated_at < \(date) AND (webhook_state IS NULL OR webhook_state <> 'pending')
              ORDER BY updated_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING seq
            """
        ).count
    }

    /// Holds the session-level advisory lock ``PostgresJobSchema/housekeepingLockKey`` on one
    /// pooled connection while `body` runs.
    public func withHousekeepingLock(_ body: () async throws -> Void) async throws -> Bool {
        // The lock is the session's: taken and released on the same connection, held meanwhile.
        try await client().withConnection { connection in
            let rows = try await connection.query(
                "SELECT pg_try_advisory_lock(\(PostgresJobSchema.housekeepingLockKey)) AS locked", logger: logger)
            var locked = false
            for try await row in rows { locked = try row.decode(Bool.self) }
            guard locked else { return false }
            do {
                try await body()
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(PostgresJobSchema.housekeepingLockKey))", logger: logger)
                throw error
            }
            try await connection.query("SELECT pg_advisory_unlock(\(PostgresJobSchema.housekeepingLockKey))", logger: logger)
            return true
        }
    }

    /// Listens for `routehost_jobs` notifications on a connection of its own; after the
    /// connection drops it calls `wake` (something may have been missed) and reconnects, with
    /// a pause that grows from 0.5 s to 10 s while the database stays away.
    public func watch(_ wake: @escaping @Sendable () -> Void) async {
        var pause = Duration.milliseconds(500)
        var id = 0
        while !Task.isCancelled {
            id += 1
            do {
                let connection = try await PostgresConnection.connect(configuration: listenerConfiguration, id: id, logger: logger)
                pause = .milliseconds(500)
                do {
                    try await connection.listen(on: Self.channel) { notifications in
                        // Missed while not listening.
                        wake()
                        for try await _ in notifications { wake() }
                    }
                } catch {
                    if !Task.isCancelled {
                        logger.warning("lost the job database's notifications; reconnecting", metadata: ["error": "\(Self.reason(error))"])
                    }
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "cannot listen to the job database; polling until it answers", metadata: ["error": "\(Self.reason(error))"])
            }
            if Task.isCancelled { return }
            wake()
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(10))
        }
    }

    /// Runs one statement (tests use it to prepare a database).
    package func run(_ query: PostgresQuery) async throws {
        _ = try await select(query)
    }

    private func select(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        let logger = logger
        do {
            return try await withConnection(client()) { connection in
                var rows: [PostgresRow] = []
                for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
                return rows
            }.map { $0.makeRandomAccess() }
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError("the job database at \(displayName) failed: \(Self.reason(error))")
        }
    }

    /// Runs `body` on a pooled connection, waiting at most `DATABASE_CONNECT_TIMEOUT_SECONDS`
    /// for one: the pool would wait for as long as the database is away, and a request must
    /// get its 503 sooner. A statement, once sent, is bounded by `statement_timeout`.
    private func withConnection<T: Sendable>(
        _ client: PostgresClient, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let leased = NIOLockedValueBox(false)
        let limit = connectTimeout
        let name = displayName
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    leased.withLockedValue { $0 = true }
                    return try await body(connection)
                }
            }
            group.addTask {
                try await Task.sleep(for: limit)
                guard leased.withLockedValue({ $0 }) else {
                    throw JobStoreError(
                        "cannot reach the job database at \(name): no connection within \(limit.secondsValue) s (DATABASE_CONNECT_TIMEOUT_SECONDS); is the server up and DATABASE_URL right?")
                }
                return nil
            }
            while let result = try await group.next() {
                if let value = result {
                    group.cancelAll()
                    return value
                }
            }
            throw CancellationError()
        }
    }

    private func client() throws -> PostgresClient {
        guard let client = state.withLockedValue({ $0.client }) else {
            throw JobStoreError("the job store at \(displayName) is not open")
        }
        return client
    }

    /// What went wrong, in words: the server's message for a SQL error, the cause for a connection error.
    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    private static func tls(_ mode: DatabaseURL.TLSMode) throws -> (PostgresClient.Configuration.TLS, PostgresConnection.Configuration.TLS) {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case .disable:
            return (.disable, .disable)
        case .allow, .prefer, .require:
            configuration.certificateVerification = .none
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
        }
        let context = try NIOSSLContext(configuration: configuration)
        switch mode {
        case .allow, .prefer:
            return (.prefer(configuration), .prefer(context))
        default:
            return (.require(configuration), .require(context))
        }
    }

    private static let columns = """
        id, endpoint, status, payload, request_id, uri, headers, webhook_url, created_at, updated_at, started_at, finished_at,
        attempts, envelope, webhook_state, webhook_attempts, webhook_last_status, webhook_last_error, webhook_delivered_at,
        webhook_next_attempt_at, submitter, idempotency_key, request_digest
        """

    private static func pendingWebhook(_ row: PostgresRandomAccessRow) -> PendingWebhook? {
        let job = record(row)
        guard let url = job.webhookURL, let body = try? row["envelope"].decode(String?.self) else { return nil }
        return PendingWebhook(jobID: job.id, url: url, body: Array(body.utf8), delivery: job.webhook ?? .pending)
    }

    private static func record(_ row: PostgresRandomAccessRow) -> JobRecord {
        func text(_ name: String) -> String? { (try? row[name].decode(String?.self)) ?? nil }
        func date(_ name: String) -> Date? { (try? row[name].decode(Date?.self)) ?? nil }
        func integer(_ name: String) -> Int? { (try? row[name].decode(Int?.self)) ?? nil }
        func json(_ name: String) -> JSONValue? { text(name).flatMap { try? JSONParser.parse($0) } }
        var webhook: WebhookDelivery?
        if let state = text("webhook_state").flatMap(WebhookDelivery.State.init) {
            webhook = WebhookDelivery(
                state: state, attempts: integer("webhook_attempts") ?? 0, lastStatus: integer("webhook_last_status"),
                lastError: text("webhook_last_error"), deliveredAt: date("webhook_delivered_at"), nextAttemptAt: date("webhook_next_attempt_at"))
        }
        return JobRecord(
            id: text("id") ?? "", endpoint: text("endpoint") ?? "", status: text("status").flatMap(JobStatus.init) ?? .queued,
            payload: json("payload") ?? .null, requestID: text("request_id") ?? "", uri: text("uri") ?? "",
            headers: StoredHeaders.decode(text("headers") ?? "[]"), webhookURL: text("webhook_url"),
            createdAt: date("created_at") ?? Date(timeIntervalSince1970: 0), updatedAt: date("updated_at") ?? Date(timeIntervalSince1970: 0),
            startedAt: date("started_at"), finishedAt: date("finished_at"), attempts: integer("attempts") ?? 0,
            envelope: json("envelope"), webhook: webhook, submitter: text("submitter"),
            idempotency: text("idempotency_key").map { IdempotencyKey(key: $0, digest: text("request_digest") ?? "") })
    }
}
