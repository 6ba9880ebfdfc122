import Foundation
import HummingbirdCore
import JSONSchema
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The job service the host runs: every job is kept in a ``JobStore``, queued jobs run on
/// `QUEUE_WORKERS` workers, and finished queued jobs are delivered to their webhook.
///
/// It is also a swift-service-lifecycle `Service`: ``RouteHostServer`` runs it next to the HTTP
/// server, so SIGTERM drains it.
///
/// Guarantees:
/// - **Sync jobs** (`runNow`): answered first, then recorded as `done` by the
///   ``SyncJobRecorder``, batched with the others finished meanwhile (the request never waits
///   for the store). A crash within that window loses the record of a job whose client already
///   had, or lost, its answer. If the store fails, the request is still served and the record
///   waits in memory (bounded) until the store takes it.
/// - **Queued jobs** (`enqueue`): committed as `queued` before the 202 is sent, so an accepted
///   job is never lost. Workers claim them FIFO (by creation time) in one atomic update
///   (`queued` → `running`, attempts + 1) under a lease of `JOB_LEASE_SECONDS`, renewed every
///   third of it while the job runs. A job whose host died (a crash, SIGKILL, a lost network)
///   is queued again once its lease has expired (at the next start with the SQLite store,
///   within about one lease by any host sharing a PostgreSQL store) and runs again
///   (at-least-once; `attempts` tells); after ``maximumRunAttempts`` interrupted runs it ends
///   `done` with a 500 instead, so one job that crashes the process cannot do so forever. A
///   host whose lease was lost meanwhile (a pause longer than the lease) keeps no result: the
///   store refuses its finish, and the job's other run decides.
/// - **Several hosts** (a shared store): workers claim with row locks that skip what another
///   host holds, are woken by the store's notifications and poll every
///   `JOB_POLL_INTERVAL_SECONDS` as well; `MAX_QUEUE_LENGTH` and `queue_length` count the
///   shared queue (counted at most every ``sharedQueueLengthFreshness`` (250 ms) and moved by this
///   host's submissions and claims between counts, so submissions on other hosts within that
///   window can pass the limit). Retention runs on one host at a time.
/// - **Time limit**: a handler still running after `JOB_TIMEOUT_SECONDS` (default 600; 0: no
///   limit) is cancelled and its job ends `done` with a 504 envelope; the worker goes on (see
///   ``HandlerDeadline`` for handlers that ignore cancellation). Sync jobs have the same limit.
/// - **Webhooks**: `done` and a `pending` delivery (due at once) are committed together,
///   before the first attempt (`WEBHOOK_CONCURRENCY` attempts at once, at most
///   `WEBHOOK_RECEIVER_CONCURRENCY` of them to one receiver, so a receiver that hangs delays only
///   its own webhooks); each attempt's outcome is recorded with the due time of the
///   next one; pending deliveries resume at the next start. Each attempt is held in the store
///   (``WebhookScheduler``), so one host at a time makes it. A delivered webhook is never sent
///   again; see ``WebhookDeliverer`` for the one window in which a receiver can see a
///   duplicate. A ``WebhookScheduler`` beside the workers claims due deliveries into
///   `WEBHOOK_CONCURRENCY` slots, one attempt per claim: a slow, dead or throttling
///   receiver never holds a worker, nor a slot between its attempts.
/// - **Shutdown**: workers stop claiming, running jobs finish (within the host's shutdown
///   limit), waiting jobs stay `queued`. Once the workers are done no new attempt starts;
///   attempts in flight finish (each is bounded by `WEBHOOK_TIMEOUT`) and are recorded.
///   Undelivered webhooks stay `pending` and resume at the next start. When the shutdown limit
///   runs out, what is still running is cancelled: a job goes back to `queued`, an attempt cut
///   short is not counted.
/// - **Retention**: `done` jobs not updated for `JOB_RETENTION_HOURS` are deleted at start and
///   then periodically (hourly at most); jobs with a pending webhook are kept.
///
/// The store is opened on first use (or when the service starts), not at creation, so
/// `routehost check` touches no file. Queued jobs only run while ``run()`` runs.
public final class DurableJobService: JobService, Service {
    /// Runs of one job (started and interrupted by a crash) after which it is not run again.
    public static let maximumRunAttempts = 3

    public let store: any JobStore
    public let fields: EnvelopeFields
    /// This host's name in the store's leases: host name, process id and a random suffix.
    public let owner: String
    private let configuration: HostConfiguration
    private let logger: Logger
    private let deliverer: WebhookDeliverer
    private let scheduler: WebhookScheduler
    private let handlers = NIOLockedValueBox<[String: JobHandler]>([:])
    private let waiting: NIOLockedValueBox<Int>
    private let averageRunTime = NIOLockedValueBox<Double>(1)
    private let readiness = NIOLockedValueBox<Readiness>(Readiness())
    private let storeHealth: StoreHealth
    private let doorbell = JobDoorbell()
    private let shutdownSignal = ShutdownSignal()
    private let recorder: SyncJobRecorder
    /// The jobs this host's workers hold, whose leases are renewed.
    private let held = NIOLockedValueBox<Set<String>>([])
    private let workersStopped = ShutdownSignal()

    /// - Parameters:
    ///   - configuration: `QUEUE_WORKERS`, `MAX_QUEUE_LENGTH`, `JOB_TIMEOUT_SECONDS`, the
    ///     `WEBHOOK_*` settings, `JOB_RETENTION_HOURS` and `BUILD_NUMBER` are read from it.
    ///   - queueID: the `queue_id` of every envelope.
    /// The host's metrics, when on (job, webhook and queue-limit families).
    let metrics: HostMetrics?

    /// - Parameter metrics: where job outcomes, durations and webhook attempts are counted; nil
    ///   while metrics are off.
    public convenience init(store: any JobStore, configuration: HostConfiguration, queueID: Int, logger: Logger, metrics: HostMetrics? = nil) {
        self.init(
            store: store, configuration: configuration, queueID: queueID, logger: logger, metrics: metrics,
            sharedQueueLengthFreshness: .milliseconds(250))
    }

    /// - Parameter sharedQueueLengthFreshness: how old the shared queue's count may be when a
    ///   submission checks `MAX_QUEUE_LENGTH` (tests count at every submission).
    package init(
        store: any JobStore, configuration: HostConfiguration, queueID: Int, logger: Logger, metrics: HostMetrics?,
        sharedQueueLengthFreshness: Duration
    ) {
        self.sharedQueueLengthFreshness = sharedQueueLengthFreshness
        self.store = store
        self.metrics = metrics
        self.configuration = configuration
        self.logger = logger
        let waiting = NIOLockedValueBox(0)
        self.waiting = waiting
        self.fields = EnvelopeFields(queueID: queueID, buildNumber: configuration.buildNumber, queueLength: { waiting.withLockedValue { $0 } })
        let owner = "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(UInt32.random(in: .min ... .max))"
        self.owner = owner
        let deliverer = WebhookDeliverer(
            settings: configuration.webhookSettings, policy: WebhookHostPolicy(configuration.webhookAllowedHosts), logger: logger)
        self.deliverer = deliverer
        // An attempt takes WEBHOOK_TIMEOUT at most; the margin covers recording its outcome.
        let claim = configuration.webhookTimeout * 2 + .seconds(10)
        let storeHealth = StoreHealth()
        self.storeHealth = storeHealth
        self.scheduler = WebhookScheduler(
            slots: configuration.webhookConcurrency, perReceiverLimit: configuration.webhookReceiverConcurrency, metrics: metrics, owner: owner, claimDuration: claim, store: store, deliverer: deliverer,
            storeHealth: storeHealth, logger: logger)
        self.recorder = SyncJobRecorder(store: store, storeHealth: storeHealth, logger: logger)
    }

    public var queueLength: Int { waiting.withLockedValue { $0 } }

    /// Why the job store is failing, or nil when its last use succeeded (`/health` shows it).
    public var storeFailure: String? { storeHealth.failure }

    public var isDraining: Bool { shutdownSignal.isTriggered }

    public var storeKind: String { store.isShared ? "postgresql" : "sqlite" }

    /// Queued jobs this host's workers run now.
    public var runningCount: Int { held.withLockedValue { $0.count } }

    /// Pending webhook deliveries in the store; nil when it does not answer (or fails already:
    /// a scrape must not wait for a database that is away).
    public func pendingWebhookCount() async -> Int? {
        guard storeHealth.failure == nil else { return nil }
        return try? await store.pendingWebhookCount()
    }

    private let storage = NIOLockedValueBox<(report: StorageReport, at: ContinuousClock.Instant)?>(nil)

    /// Read at most every 10 s (a database's size is a query), so `/health` stays cheap.
    public func storageReport() async -> StorageReport? {
        if let cached = storage.withLockedValue({ $0 }), cached.at.duration(to: .now) < .seconds(10) { return cached.report }
        let free = StorageReport.freeSpace(at: configuration.storagePath)
        var size: Int?
        // Not while the store fails: `/health` must not wait for a database that does not answer.
        if storeHealth.failure == nil { size = try? await store.sizeBytes() }
        let report = StorageReport(kind: storeKind, storeBytes: size, diskFreeBytes: free?.bytes, diskFreePercent: free?.percent)
        storage.withLockedValue { $0 = (report, .now) }
        return report
    }

    /// True once graceful shutdown has begun: no job is claimed any more.
    public var isShuttingDown: Bool { shutdownSignal.isTriggered }

    public func register(endpoint: String, handler: @escaping JobHandler) {
        handlers.withLockedValue { $0[endpoint] = handler }
    }

    /// Runs the job and answers at once; the finished job is recorded right after, batched with
    /// the other synchronous jobs that finished meanwhile (see ``SyncJobRecorder``).
    public func runNow(_ submission: JobSubmission, handler: @escaping JobHandler) async -> FinishedEnvelope {
        let started = Date()
        let envelope = await JobExecution.run(submission, handler: handler, fields: fields, timeout: configuration.jobTimeout)
        let finished = Date()
        metrics?.jobFinished(queued: false, code: envelope.code)
        let json = envelope.json
        let answer = FinishedEnvelope(envelope, json: json)
        // Not awaiting the store: the recorder keeps the record until the store takes it.
        var job = record(submission, status: .done, at: started)
        job.updatedAt = finished
        job.finishedAt = finished
        job.envelope = json
        job.serializedEnvelope = answer.body
        recorder.record(job)
        return answer
    }

    public func enqueue(_ submission: JobSubmission) async throws -> AcceptedJob {
        do {
            try await ready()
            if store.isShared { try await refreshSharedQueueLength() }
        } catch {
            noteStore(error)
            logger.error("the job store is unavailable", metadata: ["error": "\(error)"])
            throw Self.storeUnavailable
        }
        let payload = submission.payload.serialized()
        let size = payload.count
        guard size <= configuration.maxStoredJobBytes else {
            throw RouteFailure(
                .contentTooLarge,
                "Request body too large to queue: a queued job keeps its body, at most \(configuration.maxStoredJobBytes) bytes (MAX_STORED_JOB_BYTES); this one is \(size)")
        }
        let limit = configuration.maxQueueLength
        let reserved = waiting.withLockedValue { waiting -> Bool in
            if limit > 0 && waiting >= limit { return false }
            waiting += 1
            return true
        }
        guard reserved else {
            metrics?.refused(.queueLimit)
            throw JobQueueFull(limit: limit, retryAfter: retryAfterEstimate())
        }
        do {
            try await store.insert(record(submission, status: .queued, at: Date(), serializedPayload: payload))
        } catch {
            noteStore(error)
            waiting.withLockedValue { $0 -= 1 }
            logger.error("could not queue a job", metadata: ["job_id": "\(submission.jobID)", "error": "\(error)"])
            throw Self.storeUnavailable
        }
        doorbell.ring()
        return AcceptedJob(jobID: submission.jobID, id: submission.payload["id"] ?? .null, maxQueueLength: limit, queueLength: queueLength, fields: fields)
    }

    public func job(id: String) async throws -> JobRecord? {
        if let pending = recorder.pending(id: id) { return pending }
        return try await usingStore { try await self.store.job(id: id) }
    }

    /// The `Idempotency-Key`s of submissions in progress on this host (submitter and key).
    private let idempotencyInFlight = NIOLockedValueBox<Set<String>>([])

    public func claimIdempotency(_ submission: JobSubmission) async throws -> IdempotentReplay? {
        guard let idempotency = submission.idempotency else { return nil }
        let slot = "\(submission.submitter ?? "")\u{0}\(idempotency.key)"
        guard idempotencyInFlight.withLockedValue({ $0.insert(slot).inserted }) else {
            throw RouteFailure(.conflict, "A request with this Idempotency-Key is still in progress; retry once it has been answered")
        }
        do {
            let since = Date().addingTimeInterval(-IdempotencyKey.window)
            var earlier = recorder.pending(idempotencyKey: idempotency.key, submitter: submission.submitter)
            if earlier == nil {
                earlier = try await usingStore {
                    try await self.store.job(idempotencyKey: idempotency.key, submitter: submission.submitter, createdSince: since)
                }
            }
            guard let earlier else { return nil }
            idempotencyInFlight.withLockedValue { _ = $0.remove(slot) }
            guard earlier.idempotency?.digest == idempotency.digest else {
                throw RouteFailure(
                    .unprocessableContent,
                    "This Idempotency-Key was used with another request (route or body) within 24 hours; send a new key for a new request")
            }
            if earlier.webhookURL != nil {
                return .accepted(AcceptedJob(
                    jobID: earlier.id, id: earlier.payload["id"] ?? .null, maxQueueLength: configuration.maxQueueLength,
                    queueLength: queueLength, fields: fields))
            }
            guard let envelope = earlier.envelope else {
                throw RouteFailure(.conflict, "A request with this Idempotency-Key is still in progress; retry once it has been answered")
            }
            return .finished(code: envelope["code"]?.numberValue?.intValue ?? 200, body: earlier.serializedEnvelope ?? envelope.serialized())
        } catch {
            idempotencyInFlight.withLockedValue { _ = $0.remove(slot) }
            throw error
        }
    }

    public func releaseIdempotency(_ submission: JobSubmission) {
        guard let idempotency = submission.idempotency else { return }
        idempotencyInFlight.withLockedValue { _ = $0.remove("\(submission.submitter ?? "")\u{0}\(idempotency.key)") }
    }

    /// The most jobs ``statuses(updatedWithin:submitter:)`` lists: a wide window over a large store must not
    /// load every row into one answer.
    public static let maxListedStatuses = 10_000

    /// The status of the jobs updated within `window`, oldest update first: the latest
    /// ``maxListedStatuses`` of them when there are more.
    public func statuses(updatedWithin window: Duration, submitter: String?) async throws -> [(jobID: String, status: JobStatus)] {
        let since = Date().addingTimeInterval(-window.secondsValue)
        let stored = try await usingStore {
            try await self.store.statuses(updatedSince: since, limit: Self.maxListedStatuses, submitter: submitter)
        }
        let storedIDs = Set(stored.map(\.jobID))
        let pending = recorder.unwritten
            .filter { $0.updatedAt >= since && !storedIDs.contains($0.id) && (submitter == nil || $0.submitter == submitter) }
            .map { (jobID: $0.id, status: $0.status) }
        return (stored + pending).suffix(Self.maxListedStatuses)
    }

    /// Jobs deleted per statement of the retention sweep: the sweep lets other statements run
    /// between batches instead of holding the store's one connection for the whole backlog.
    static let purgeBatch = 1_000

    /// Deletes the jobs past `JOB_RETENTION_HOURS` (0 keeps every job); returns how many.
    @discardableResult
    public func purgeExpiredJobs(now: Date = Date()) async -> Int {
        let retention = configuration.jobRetention.secondsValue
        guard retention > 0 else { return 0 }
        do {
            try await ready()
            let cutoff = now.addingTimeInterval(-retention)
            var purged = 0
            let ran = try await store.withHousekeepingLock {
                while true {
                    let batch = try await store.purge(updatedBefore: cutoff, limit: Self.purgeBatch)
                    purged += batch
                    if batch < Self.purgeBatch { break }
                    await Task.yield()
                }
            }
            if !ran { logger.debug("another host is purging old jobs") }
            if purged > 0 { logger.info("purged old jobs", metadata: ["count": "\(purged)"]) }
            return purged
        } catch {
            logger.error("could not purge old jobs", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// Runs the workers, the webhook deliveries and the retention sweep until graceful
    /// shutdown (then drains, see the type's documentation) or cancellation.
    public func run() async throws {
        while true {
            do {
                try await ready()
                break
            } catch {
                // A database that is down at start: the host serves (queued routes answer 503)
                // and keeps trying. A local file that cannot be opened stops the host.
                guard store.isShared else { throw error }
                logger.error("the job database is unavailable; retrying", metadata: ["error": "\(error)"])
                guard await shutdownSignal.sleep(for: .seconds(2)) else { return }
            }
        }
        await purgeExpiredJobs()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.scheduler.run() }
                group.addTask { await self.purgePeriodically() }
                await withTaskGroup(of: Void.self) { side in
                    side.addTask {
                        await self.store.watch {
                            self.doorbell.ring()
                            self.scheduler.wake()
                        }
                    }
                    side.addTask { await self.keepLeases() }
                    if store.isShared {
                        side.addTask { await self.recoverPeriodically() }
                    }
                    await withDiscardingTaskGroup { workers in
                        for _ in 0..<configuration.queueWorkers {
                            workers.addTask { await self.work() }
                        }
                    }
                    workersStopped.trigger()
                    side.cancelAll()
                }
                scheduler.close()
                shutdownSignal.trigger()
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
    }

    /// Closes the store and the webhook client. Call it after ``run()`` has returned.
    public func shutdown() async {
        beginShutdown()
        await recorder.drain()
        scheduler.close()
        await deliverer.shutdown()
        let opened = readiness.withLockedValue { $0.task }
        guard let opened, (try? await opened.value) != nil else {
            // A store whose opening failed may still hold a connection pool.
            if store.isShared { try? await store.close() }
            return
        }
        do {
            try await store.close()
        } catch {
            logger.error("could not close the job store", metadata: ["error": "\(error)"])
        }
    }

    private func beginShutdown() {
        shutdownSignal.trigger()
        doorbell.close()
    }

    // MARK: - Startup

    /// Opens the store (waiting for its lock) and recovers from the previous run, once.
    ///
    /// A shared store that cannot be reached is not an error here: the host starts, its queued
    /// routes answer 503 and `/health` says why, and every use tries again.
    public func open() async throws {
        do {
            try await ready()
        } catch {
            guard store.isShared else { throw error }
            noteStore(error)
            logger.error("the job database is unavailable; the host serves and retries", metadata: ["error": "\(error)"])
        }
    }

    private struct Readiness {
        var task: Task<Void, any Error>?
        /// When the last opening failed: another is tried one second later at the soonest.
        var failedAt: ContinuousClock.Instant?
    }

    /// Opens the store and recovers from the previous run, once; every entry point awaits it.
    /// After a failure the next call, a second later at the soonest, tries again.
    private func ready() async throws {
        let task = readiness.withLockedValue { readiness in
            if let task = readiness.task {
                guard let failedAt = readiness.failedAt, failedAt.duration(to: .now) >= .seconds(1) else { return task }
            }
            let opening = Task { try await self.prepare() }
            readiness = Readiness(task: opening)
            return opening
        }
        do {
            try await task.value
        } catch {
            readiness.withLockedValue { readiness in
                if readiness.task == task && readiness.failedAt == nil { readiness.failedAt = .now }
            }
            throw error
        }
    }

    /// Runs a read for a client: a store failure is logged and becomes a 503 that says so.
    private func usingStore<T>(_ read: () async throws -> T) async throws -> T {
        do {
            try await ready()
            return try await read()
        } catch {
            noteStore(error)
            logger.error("the job store is unavailable", metadata: ["error": "\(error)"])
            throw Self.storeUnavailable
        }
    }

    private func noteStore(_ error: (any Error)?) {
        if let error { storeHealth.failed(error) } else { storeHealth.succeeded() }
    }

    private func prepare() async throws {
        try await store.open()
        try await recoverInterrupted()
        try await refreshQueueLength()
        noteStore(nil)
        recorder.storeOpened()
        let queued = queueLength
        if queued > 0 { logger.info("resuming queued jobs", metadata: ["count": "\(queued)"]) }
    }

    /// Takes over the running jobs whose lease expired (their host stopped): a queued job is
    /// queued again; a sync job is finished as failed (its client already saw the connection
    /// drop). Running sync jobs are only in stores written before sync jobs were recorded after
    /// their answer: that branch is migration code.
    private func recoverInterrupted() async throws {
        let batch = 100
        while true {
            let lease = JobLease(owner: owner, duration: configuration.jobLease)
            let jobs = try await store.reclaimExpired(lease, limit: batch)
            for job in jobs {
                if job.webhookURL != nil {
                    try await store.requeue(jobID: job.id, lease)
                    waiting.withLockedValue { $0 += 1 }
                    metrics?.recovered.increment()
                    doorbell.ring()
                    logger.warning("job interrupted (its host stopped): queued again", metadata: ["job_id": "\(job.id)", "attempts": "\(job.attempts)"])
                } else {
                    var envelope = failureEnvelope(for: job, "Interrupted: the host stopped before this job finished; it was not run again")
                    envelope.runTime = nil
                    _ = try await store.finish(jobID: job.id, envelope: envelope.json.serialized(), lease, webhookClaimUntil: nil)
                    logger.warning("sync job interrupted by a restart: finished as failed", metadata: ["job_id": "\(job.id)"])
                }
            }
            if jobs.count < batch { return }
        }
    }

    /// With a shared store: looks for other hosts' expired leases twice per lease.
    private func recoverPeriodically() async {
        let interval = max(configuration.jobLease / 2, .milliseconds(100))
        while await workersStopped.sleep(for: interval) {
            do {
                try await recoverInterrupted()
            } catch {
                logger.error("could not look for interrupted jobs", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Renews the leases of the jobs this host runs, every third of a lease, until the workers stop.
    private func keepLeases() async {
        let interval = max(configuration.jobLease / 3, .milliseconds(50))
        while await workersStopped.sleep(for: interval) {
            let ids = held.withLockedValue { Array($0) }
            guard !ids.isEmpty else { continue }
            do {
                let renewed = try await store.renew(jobIDs: ids, JobLease(owner: owner, duration: configuration.jobLease))
                let lost = held.withLockedValue { $0.intersection(ids).subtracting(renewed) }
                for id in lost {
                    logger.warning("lost the lease of a running job: another host may run it again; this run's result will be dropped", metadata: ["job_id": "\(id)"])
                }
            } catch {
                logger.error("could not renew job leases", metadata: ["error": "\(error)"])
            }
        }
    }

    /// How old the shared queue's length may be when a submission checks `MAX_QUEUE_LENGTH`:
    /// counting a long queue at every submission would cost more than the submission.
    let sharedQueueLengthFreshness: Duration

    private struct SharedCount {
        var countedAt: ContinuousClock.Instant?
        var counting = false
    }

    private let sharedCount = NIOLockedValueBox(SharedCount())

    /// Counts the shared queue when the last count is older than ``sharedQueueLengthFreshness``
    /// and no other count is under way; between counts, this host's submissions and claims move it.
    private func refreshSharedQueueLength() async throws {
        let due = sharedCount.withLockedValue { count -> Bool in
            if count.counting { return false }
            if let last = count.countedAt, last.duration(to: .now) < sharedQueueLengthFreshness { return false }
            count.counting = true
            return true
        }
        guard due else { return }
        defer { sharedCount.withLockedValue { $0.counting = false } }
        try await refreshQueueLength()
        sharedCount.withLockedValue { $0.countedAt = .now }
    }

    /// The store's count of queued jobs, as ``queueLength`` reports it.
    private func refreshQueueLength() async throws {
        let queued = try await store.count(status: .queued)
        waiting.withLockedValue { $0 = queued }
    }

    // MARK: - Workers

    private func work() async {
        while !shutdownSignal.isTriggered && !Task.isCancelled {
            let job: JobRecord?
            do {
                job = try await store.claimNext(JobLease(owner: owner, duration: configuration.jobLease))
            } catch {
                noteStore(error)
                logger.error("could not claim a job", metadata: ["error": "\(error)"])
                _ = await shutdownSignal.sleep(for: .seconds(1))
                continue
            }
            guard let job else {
                if store.isShared {
                    await doorbell.wait(timeout: configuration.jobPollInterval)
                    do {
                        try await refreshQueueLength()
                        noteStore(nil)
                    } catch {
                        noteStore(error)
                    }
                } else {
                    await doorbell.wait()
                }
                continue
            }
            waiting.withLockedValue { $0 -= 1 }
            await execute(job)
        }
    }

    private func execute(_ job: JobRecord) async {
        held.withLockedValue { _ = $0.insert(job.id) }
        defer { held.withLockedValue { _ = $0.remove(job.id) } }
        var jobLogger = logger
        jobLogger[metadataKey: "job_id"] = .string(job.id)
        jobLogger[metadataKey: "request_id"] = .string(job.requestID)
        let request = HandlerRequest(
            payload: job.payload, headers: job.headers, uri: URI(job.uri), requestID: job.requestID, jobID: job.id,
            endpoint: job.endpoint, logger: jobLogger)
        let envelope: Envelope
        if job.attempts > Self.maximumRunAttempts {
            envelope = failureEnvelope(for: job, "Not run again: \(job.attempts - 1) runs of this job were interrupted by a restart")
        } else if let handler = handlers.withLockedValue({ $0[job.endpoint] }) {
            envelope = await JobExecution.run(
                JobSubmission(request: request, webhookURL: job.webhookURL), handler: handler, fields: fields, queuedAt: job.createdAt,
                timeout: configuration.jobTimeout)
            if Task.isCancelled {
                try? await store.requeue(jobID: job.id, JobLease(owner: owner, duration: configuration.jobLease))
                waiting.withLockedValue { $0 += 1 }
                jobLogger.warning("job cancelled by shutdown: queued again")
                return
            }
            averageRunTime.withLockedValue { $0 = $0 * 0.8 + (envelope.runTime ?? 0) * 0.2 }
            if let metrics {
                metrics.runDuration.record(.milliseconds(Int64((envelope.runTime ?? 0) * 1000)))
                metrics.queueWait.record(.milliseconds(Int64((job.startedAt ?? Date()).timeIntervalSince(job.createdAt) * 1000)))
            }
        } else {
            envelope = failureEnvelope(for: job, "No handler for \(job.endpoint): the route is no longer served as a queued route (check routes.json)")
        }
        let body = envelope.json.serialized()
        let lease = JobLease(owner: owner, duration: configuration.jobLease)
        let attemptsNow = job.webhookURL.map { scheduler.reserve(job.id, url: $0) } ?? false
        let finished: Bool
        do {
            finished = try await store.finish(
                jobID: job.id, envelope: body, lease, webhookClaimUntil: attemptsNow ? lease.start.addingTimeInterval(scheduler.claimDuration.secondsValue) : nil)
        } catch {
            if attemptsNow { scheduler.release(job.id) }
            jobLogger.error("could not record a finished job; it runs again once its lease expires", metadata: ["error": "\(error)"])
            return
        }
        guard finished else {
            if attemptsNow { scheduler.release(job.id) }
            jobLogger.warning("finished a job whose lease was lost: its result is dropped (another run decides)")
            return
        }
        metrics?.jobFinished(queued: true, code: envelope.code)
        if attemptsNow, let url = job.webhookURL {
            scheduler.handOver(PendingWebhook(jobID: job.id, url: url, body: body, delivery: .pending))
        }
    }

    // MARK: - Retention

    private func purgePeriodically() async {
        let retention = configuration.jobRetention.secondsValue
        guard retention > 0 else { return }
        let interval = Duration.seconds(min(3600, max(1, retention / 4)))
        while await shutdownSignal.sleep(for: interval) {
            await purgeExpiredJobs()
        }
    }

    // MARK: - Helpers

    private static let storeUnavailable = RouteFailure(.serviceUnavailable, "The job queue is unavailable right now (its store does not answer); try again shortly")

    /// The record of a submission, bounded: at most ``StoredHeaders/maximumBytes`` of its headers,
    /// and for a sync job a payload over `MAX_STORED_JOB_BYTES` is replaced by a note of its size
    /// (a queued job's whole payload is kept: ``enqueue(_:)`` refuses a larger one).
    ///
    /// - Parameter serializedPayload: the payload's bytes when the caller has them already.
    private func record(_ submission: JobSubmission, status: JobStatus, at date: Date, serializedPayload: [UInt8]? = nil) -> JobRecord {
        let request = submission.request
        var payload = submission.payload
        var bytes = serializedPayload ?? payload.serialized()
        if status != .queued && bytes.count > configuration.maxStoredJobBytes {
            payload = ["omitted": .string("a payload of \(bytes.count) bytes, over MAX_STORED_JOB_BYTES (\(configuration.maxStoredJobBytes))")]
            bytes = payload.serialized()
        }
        var job = JobRecord(
            id: submission.jobID, endpoint: submission.endpoint, status: status, payload: payload,
            requestID: request.requestID, uri: request.uri.description, headers: StoredHeaders.bounded(request.headers),
            webhookURL: submission.webhookURL,
            createdAt: date, updatedAt: date, startedAt: status == .running ? date : nil, attempts: status == .running ? 1 : 0,
            submitter: submission.submitter, idempotency: submission.idempotency)
        job.serializedPayload = bytes
        return job
    }

    private func failureEnvelope(for job: JobRecord, _ message: String) -> Envelope {
        var envelope = Envelope(endpoint: job.endpoint, code: 500, fields: fields)
        envelope.id = job.payload["id"] ?? .null
        envelope.jobID = job.id
        envelope.message = .string(message)
        envelope.runTime = 0
        envelope.queueTime = Date().timeIntervalSince(job.createdAt)
        envelope.totalTime = envelope.queueTime
        return envelope
    }

    /// A `Retry-After` for a full queue: the time the workers need for the jobs ahead, 1–60 s.
    private func retryAfterEstimate() -> Int {
        let perJob = averageRunTime.withLockedValue { $0 }
        let seconds = perJob * Double(queueLength) / Double(max(configuration.queueWorkers, 1))
        return Int(min(60, max(1, seconds.rounded(.up))))
    }
}
