import Foundation

/// Where jobs are kept: the durable half of ``DurableJobService``.
///
/// Every method is one atomic change: the service never needs a transaction across calls. The
/// service decides what happens to jobs (recovery, retries, retention); the store only keeps
/// them. ``SQLiteJobStore`` is the implementation; another database can replace it by
/// conforming to this protocol.
///
/// - Important: one process per store. Two hosts on the same store would both claim jobs at
///   startup recovery.
public protocol JobStore: Sendable {
    /// Opens the store, creating or migrating it as needed. Called once, before anything else.
    func open() async throws
    /// Closes the store; nothing may be called afterwards.
    func close() async throws

    /// Adds a new job (`queued`, or `running` for a job that runs at once).
    func insert(_ job: JobRecord) async throws
    /// Inserts several jobs at once (atomically per store write); the default inserts them one by one.
    func insertAll(_ jobs: [JobRecord]) async throws
    /// The oldest `queued` job, now `running` with one more attempt; nil when none waits.
    func claimNext(at date: Date) async throws -> JobRecord?
    /// Makes a `running` job `done` with its envelope. A job with a `webhook_url` gets a
    /// `pending` delivery, due at `date`, in the same change, so that a finished job's webhook
    /// is never lost.
    func finish(jobID: String, envelope: [UInt8], at date: Date) async throws
    /// Puts a `running` job back in the queue (it was interrupted).
    func requeue(jobID: String, at date: Date) async throws
    /// Records a webhook attempt's outcome, with the next attempt's due time when still pending.
    func recordWebhook(jobID: String, _ delivery: WebhookDelivery, at date: Date) async throws

    func job(id: String) async throws -> JobRecord?
    /// Every job with `status`, oldest first.
    func jobs(status: JobStatus) async throws -> [JobRecord]
    /// The number of jobs with `status`.
    func count(status: JobStatus) async throws -> Int
    /// The status of the jobs updated at or after `date`, oldest update first: the latest
    /// `limit` of them when there are more.
    func statuses(updatedSince date: Date, limit: Int) async throws -> [(jobID: String, status: JobStatus)]
    /// Up to `limit` `pending` webhooks due at `date` (next attempt at or before it), earliest
    /// due first, leaving out the jobs in `excluded` (attempts in progress).
    func dueWebhooks(at date: Date, excluding excluded: Set<String>, limit: Int) async throws -> [PendingWebhook]
    /// The earliest due time of a `pending` webhook not in `excluded`; nil when none is pending.
    func nextWebhookDue(excluding excluded: Set<String>) async throws -> Date?
    /// Deletes `done` jobs last updated before `date` whose webhook is not `pending`, at most
    /// `limit` of them (oldest first); returns how many.
    func purge(updatedBefore date: Date, limit: Int) async throws -> Int
}

/// A webhook to send: the stored envelope, byte for byte, and the delivery so far.
public struct PendingWebhook: Sendable {
    public var jobID: String
    public var url: String
    public var body: [UInt8]
    public var delivery: WebhookDelivery

    public init(jobID: String, url: String, body: [UInt8], delivery: WebhookDelivery) {
        self.jobID = jobID
        self.url = url
        self.body = body
        self.delivery = delivery
    }
}

/// The store failed: its message is for the log, never for clients.
public struct JobStoreError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

extension JobStore {
    public func insertAll(_ jobs: [JobRecord]) async throws {
        for job in jobs { try await insert(job) }
    }
}
