import Foundation
import Logging
import SQLiteNIO

extension SQLiteJobStore {
    /// With `DATABASE_URL` set: warns when the SQLite store under `storagePath` still holds
    /// queued jobs or pending webhooks, which the PostgreSQL store does not take over. Reads
    /// the file without migrating or locking it; says nothing when there is none.
    static func warnAboutUnfinishedWork(storagePath: String, logger: Logger) async {
        let path = URL(fileURLWithPath: storagePath, isDirectory: true).appendingPathComponent("jobs.sqlite").path
        guard FileManager.default.fileExists(atPath: path) else { return }
        do {
            let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            defer { _ = connection.close() }
            let rows = try await connection.query(
                """
                SELECT (SELECT COUNT(*) FROM jobs WHERE status != 'done') AS queued,
                       (SELECT COUNT(*) FROM jobs WHERE webhook_state = 'pending') AS webhooks
                """)
            let queued = rows.first?.column("queued")?.integer ?? 0
            let webhooks = rows.first?.column("webhooks")?.integer ?? 0
            guard queued + webhooks > 0 else { return }
            logger.warning(
                "the SQLite job store still holds unfinished work that PostgreSQL will not run: start once without DATABASE_URL to finish it, or delete the file",
                metadata: ["path": "\(path)", "queued_jobs": "\(queued)", "pending_webhooks": "\(webhooks)"])
        } catch {
            logger.warning("could not read the old SQLite job store", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}
