import Foundation

/// Where jobs are kept: the durable half of ``DurableJobService``.
///
/// Every method is one atomic change: the service never needs a transaction across calls. The
/// service decides what happens to jobs (recovery, retries, retention); the store only keeps
/// them. Two implementations pass the same contract tests: ``SQLiteJobStore`` (one process per
/// file, the default) and ``PostgresJobStore`` (`DATABASE_URL`, shared by several hosts).
///
/// Ownership: a running job and a webhook attempt in progress are held under a ``JobLease``
/// (an owner, one per host process, and an expiry). Only the holder may finish, requeue or
/// renew a job, or record a webhook attempt; a lease that expires (its host died, or lost the
/// database) can be taken over by any host with ``reclaimExpired(_:limit:)`` or
/// ``claimDueWebhooks(_:limit:)``. A store that only one process can open clears every lease
/// when it opens: its previous holder is gone.
public protocol JobStore: Sendable {
    /// True when several hosts may use the store at once: the service then sweeps for expired
    /// leases while it runs, counts the shared queue, and polls as well as listening.
    var isShared: Bool { get }

    /// Opens the store, creating or migrating it as needed. Called once, before anything else.
    func open() async throws
    /// Closes the store; nothing may be called afterwards.
    func close() async throws

    /// Adds new jobs (`queued`, or `done` for synchronous jobs recorded after their answer),
    /// atomically.
    func insertAll(_ jobs: [JobRecord]) async throws
    /// The oldest `queued` job, now `running` under `lease` with one more attempt; nil when none waits.
    func claimNext(_ lease: JobLease) async throws -> JobRecord?
    /// Extends `lease` to the jobs in `jobIDs` that its owner still holds; returns those ids.
    func renew(jobIDs: [String], _ lease: JobLease) async throws -> Set<String>
    /// Takes over up to `limit` `running` jobs whose lease expired before `lease.start` (or that
    /// have none): they are held under `lease`, with their attempts unchanged.
    func reclaimExpired(_ lease: JobLease, limit: Int) async throws -> [JobRecord]
    /// Makes a `running` job held under `lease` `done` with its envelope; false (and nothing
    /// changes) when the lease was lost. A job with a `webhook_url` gets a `pending` delivery,
    /// due at once, in the same change, so a finished job's webhook is never lost; with
    /// `webhookClaimUntil` its first attempt is held by the lease's owner until then.
    func finish(jobID: String, envelope: [UInt8], _ lease: JobLease, webhookClaimUntil: Date?) async throws -> Bool
    /// Puts a `running` job held under `lease` back in the queue (it was interrupted).
    func requeue(jobID: String, _ lease: JobLease) async throws

    /// Up to `limit` `pending` webhooks due at `lease.start` and not held by anyone, earliest
    /// due first, leaving out those to the receivers in `excluded` (``WebhookURL/receiver``),
    /// now held under `lease`.
    func claimDueWebhooks(_ lease: JobLease, limit: Int, excludingReceivers excluded: Set<String>) async throws -> [PendingWebhook]
    /// When the next `pending` webhook not to a receiver in `excluded` falls due (a held one when
    /// its hold ends); nil when none is pending.
    func nextWebhookDue(excludingReceivers excluded: Set<String>) async throws -> Date?
    /// Releases the holds `owner` has on these deliveries, unattempted: they are due again at once.
    func releaseWebhooks(jobIDs: [String], owner: String) async throws
    /// Records the outcome of an attempt held by `owner` (with the next attempt's due time when
    /// still pending) and releases the hold; does nothing when `owner` no longer holds it.
    func recordWebhook(jobID: String, _ delivery: WebhookDelivery, owner: String, at date: Date) async throws

    func job(id: String) async throws -> JobRecord?
    /// The latest job created at or after `date` with this `Idempotency-Key` from `submitter`.
    func job(idempotencyKey key: String, submitter: String?, createdSince date: Date) async throws -> JobRecord?
    /// The number of jobs with `status`.
    func count(status: JobStatus) async throws -> Int
    /// The store's size in bytes (its files, or its database).
    func sizeBytes() async throws -> Int
    /// The number of `pending` webhook deliveries.
    func pendingWebhookCount() async throws -> Int
    /// The status of the jobs updated at or after `date` (submitted by `submitter` only, when
    /// given), oldest update first: the latest `limit` of them when there are more.
    func statuses(updatedSince date: Date, limit: Int, submitter: String?) async throws -> [(jobID: String, status: JobStatus)]
    /// Deletes `done` jobs last updated before `date` whose webhook is not `pending`, at most
    /// `limit` of them (oldest first); returns how many.
    func purge(updatedBefore date: Date, limit: Int) async throws -> Int
    /// Runs `body` only if no other host runs housekeeping on this store now (retention); returns
    /// false when another does. An unshared store always runs it.
    func withHousekeepingLock(_ body: () async throws -> Void) async throws -> Bool

    /// Calls `wake` whenever another host (or this one) queues a job or leaves a webhook due,
    /// until the task is cancelled; a store that cannot tell returns at once, and the service
    /// polls.
    func watch(_ wake: @escaping @Sendable () -> Void) async
}

/// A hold on running jobs or webhook attempts: who holds them, from when, until when.
public struct JobLease: Sendable, Equatable {
    /// The holder: one per host process (``DurableJobService/owner``).
    public var owner: String
    /// The moment of the claim (what is due or expired is judged against it).
    public var start: Date
    /// When the hold ends unless renewed.
    public var until: Date

    public init(owner: String, start: Date, until: Date) {
        self.owner = owner
        self.start = start
        self.until = until
    }

    public init(owner: String, at start: Date = Date(), duration: Duration) {
        self.init(owner: owner, start: start, until: start.addingTimeInterval(duration.secondsValue))
    }
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
    public func insert(_ job: JobRecord) async throws {
        try await insertAll([job])
    }
}
