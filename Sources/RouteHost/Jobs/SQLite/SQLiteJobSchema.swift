import SQLiteNIO

/// The job database's schema and its migrations.
///
/// `schema_version` holds one row: the version the file is at. Each migration moves it up by
/// one inside a transaction; a file from a newer RouteHost is refused rather than guessed at.
enum SQLiteJobSchema {
    /// Migration `n` brings a file from version `n` to `n + 1`.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE jobs (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                endpoint TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done')),
                payload TEXT NOT NULL,
                request_id TEXT NOT NULL,
                uri TEXT NOT NULL,
                headers TEXT NOT NULL,
                webhook_url TEXT,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                started_at REAL,
                finished_at REAL,
                attempts INTEGER NOT NULL DEFAULT 0,
                envelope TEXT,
                webhook_state TEXT CHECK (webhook_state IN ('pending', 'delivered', 'failed')),
                webhook_attempts INTEGER NOT NULL DEFAULT 0,
                webhook_last_status INTEGER,
                webhook_last_error TEXT,
                webhook_delivered_at REAL
            )
            """,
            "CREATE INDEX jobs_status_created ON jobs (status, created_at, seq)",
            "CREATE INDEX jobs_updated ON jobs (updated_at)",
            "CREATE INDEX jobs_webhook_pending ON jobs (webhook_state) WHERE webhook_state = 'pending'",
        ],
        // To version 2: each pending delivery carries the due time of its next attempt
        // (``WebhookScheduler`` claims due ones); a delivery pending from before is due at once.
        [
            "ALTER TABLE jobs ADD COLUMN webhook_next_attempt_at REAL",
            "UPDATE jobs SET webhook_next_attempt_at = COALESCE(finished_at, updated_at) WHERE webhook_state = 'pending'",
            "DROP INDEX jobs_webhook_pending",
            "CREATE INDEX jobs_webhook_due ON jobs (webhook_next_attempt_at, seq) WHERE webhook_state = 'pending'",
        ],
        // To version 3: a running job and a webhook attempt are held under a lease (see ``JobStore``).
        [
            "ALTER TABLE jobs ADD COLUMN lease_owner TEXT",
            "ALTER TABLE jobs ADD COLUMN lease_expires_at REAL",
            "ALTER TABLE jobs ADD COLUMN webhook_owner TEXT",
            "ALTER TABLE jobs ADD COLUMN webhook_claim_expires_at REAL",
        ],
        // To version 4: who submitted a job and its Idempotency-Key (see ``IdempotencyKey``), and
        // the receiver of its webhook (``WebhookURL/receiver``: fairness between receivers).
        [
            "ALTER TABLE jobs ADD COLUMN submitter TEXT",
            "ALTER TABLE jobs ADD COLUMN idempotency_key TEXT",
            "ALTER TABLE jobs ADD COLUMN request_digest TEXT",
            "ALTER TABLE jobs ADD COLUMN webhook_receiver TEXT",
            "CREATE INDEX jobs_idempotency ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL",
        ],
    ]

    static var currentVersion: Int { migrations.count }

    /// Brings the database to ``currentVersion``. Runs before the connection is shared.
    static func migrate(_ connection: SQLiteConnection) async throws {
        _ = try await connection.query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        let rows = try await connection.query("SELECT version FROM schema_version")
        var version = rows.first?.column("version")?.integer ?? 0
        if version > currentVersion {
            throw JobStoreError(
                "the job database was written by a newer RouteHost (schema version \(version), this build knows up to \(currentVersion)); use a newer build or another LOCAL_STORAGE_PATH")
        }
        while version < currentVersion {
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                for statement in migrations[version] {
                    _ = try await connection.query(statement)
                }
                _ = try await connection.query("DELETE FROM schema_version")
                _ = try await connection.query("INSERT INTO schema_version (version) VALUES (?)", [.integer(version + 1)])
                _ = try await connection.query("COMMIT")
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
            version += 1
        }
    }
}
