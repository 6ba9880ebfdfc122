import Logging

extension HostConfiguration {
    /// The `WEBHOOK_*` settings as the deliverer takes them.
    public var webhookSettings: WebhookDeliverer.Settings {
        .init(
            timeout: webhookTimeout, retry: WebhookRetryPolicy(maxAttempts: webhookMaxAttempts, baseDelay: webhookRetryDelay),
            signer: webhookSigner)
    }
}

extension HostConfiguration {
    /// The job store these settings select: PostgreSQL when `DATABASE_URL` is set, else the
    /// SQLite file under `LOCAL_STORAGE_PATH`.
    public func makeJobStore(logger: Logger) throws -> any JobStore {
        guard let database else {
            return SQLiteJobStore(storagePath: storagePath, lockTimeout: storeLockTimeout, logger: logger)
        }
        return try PostgresJobStore(
            url: database, poolSize: databasePoolSize, statementTimeout: databaseStatementTimeout,
            connectTimeout: databaseConnectTimeout, logger: logger)
    }
}
