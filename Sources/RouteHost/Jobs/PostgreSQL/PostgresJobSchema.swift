import Logging
import PostgresNIO

/// The PostgreSQL job store's tables and their migrations.
///
/// `routehost_schema` holds one row: the version the database is at and the oldest RouteHost
/// schema version that can still use it (`compatible_from`). Migrations are additive (new
/// columns, tables and indexes), so a host one version behind keeps working while a newer one
/// has migrated: during a rolling upgrade, start the new hosts first or in any order. A host
/// refuses a database only when `compatible_from` is above its own version, which a migration
/// that removes or changes something sets.
///
/// Two hosts starting together migrate once: the migration runs in one transaction under an
/// advisory lock (``migrationLockKey``), and the second reads the version the first wrote.
enum PostgresJobSchema {
    /// Migration `n` brings a database from version `n` to `n + 1`.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE routehost_jobs (
                seq BIGSERIAL PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                endpoint TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done')),
                payload TEXT NOT NULL,
                request_id TEXT NOT NULL,
                uri TEXT NOT NULL,
                headers TEXT NOT NULL,
                webhook_url TEXT,
                created_at TIMESTAMPTZ NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL,
                started_at TIMESTAMPTZ,
                finished_at TIMESTAMPTZ,
                attempts INTEGER NOT NULL DEFAULT 0,
                envelope TEXT,
                lease_owner TEXT,
                lease_expires_at TIMESTAMPTZ,
                webhook_state TEXT CHECK (webhook_state IN ('pending', 'delivered', 'failed')),
                webhook_attempts INTEGER NOT NULL DEFAULT 0,
                webhook_last_status INTEGER,
                webhook_last_error TEXT,
                webhook_delivered_at TIMESTAMPTZ,
                webhook_next_attempt_at TIMESTAMPTZ,
                webhook_owner TEXT,
                webhook_claim_expires_at TIMESTAMPTZ
            )
            """,
            "CREATE INDEX routehost_jobs_queued ON routehost_jobs (created_at, seq) WHERE status = 'queued'",
            "CREATE INDEX routehost_jobs_running ON routehost_jobs (lease_expires_at) WHERE status = 'running'",
            "CREATE INDEX routehost_jobs_updated ON routehost_jobs (updated_at)",
            "CREATE INDEX routehost_jobs_webhook_due ON routehost_jobs (webhook_next_attempt_at, seq) WHERE webhook_state = 'pending'",
        ],
        // To version 2: who submitted a job and its Idempotency-Key (see ``IdempotencyKey``), and
        // the receiver of its webhook (``WebhookURL/receiver``: fairness between receivers).
        [
            "ALTER TABLE routehost_jobs ADD COLUMN submitter TEXT",
            "ALTER TABLE routehost_jobs ADD COLUMN idempotency_key TEXT",
            "ALTER TABLE routehost_jobs ADD COLUMN request_digest TEXT",
            "ALTER TABLE routehost_jobs ADD COLUMN webhook_receiver TEXT",
            "CREATE INDEX routehost_jobs_idempotency ON routehost_jobs (idempotency_key) WHERE idempotency_key IS NOT NULL",
        ],
    ]

    /// The schema version this build writes.
    static var currentVersion: Int { migrations.count }
    /// The oldest schema version this build's tables can still be used by: raise it only with
    /// a migration that older builds cannot live with.
    static let compatibleFrom = 1

    /// `pg_advisory_xact_lock`'s key for migrations ("RouteHost" in ASCII, folded into 63 bits).
    static let migrationLockKey: Int64 = 0x526F_7574_6548_6F73
    /// `pg_try_advisory_lock`'s key for housekeeping (retention).
    static let housekeepingLockKey: Int64 = 0x526F_7574_6548_6F74

    /// Brings the database to ``currentVersion``, or refuses one that says this build cannot use it.
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS routehost_schema (version INTEGER NOT NULL, compatible_from INTEGER NOT NULL)", logger: logger)
            var version = 0
            var compatible = 0
            for try await (v, c) in try await connection.query("SELECT version, compatible_from FROM routehost_schema", logger: logger)
                .decode((Int, Int).self)
            {
                version = v
                compatible = c
            }
            if compatible > currentVersion {
                throw JobStoreError(
                    "the job database was migrated by a newer RouteHost that this one cannot work with (schema version \(version), usable from version \(compatible); this build is at \(currentVersion)); upgrade this host")
            }
            guard version < currentVersion else { return }
            for migration in migrations[version...] {
                for statement in migration {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
            }
            try await connection.query("DELETE FROM routehost_schema", logger: logger)
            try await connection.query(
                "INSERT INTO routehost_schema (version, compatible_from) VALUES (\(currentVersion), \(max(compatibleFrom, compatible)))",
                logger: logger)
            logger.info("migrated the job database", metadata: ["from_version": "\(version)", "to_version": "\(currentVersion)"])
        }
    }
}
