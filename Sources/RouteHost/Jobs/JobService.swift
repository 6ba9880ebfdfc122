import Foundation
import HTTPTypes
import JSONSchema

/// The pipeline's queue step and the job-status lookups.
///
/// Every execution of an envelope route is a job: run now (sync) or later (queued, answered
/// with 202 and delivered to a webhook). Implementations record jobs so that `job/status` can
/// find them.
public protocol JobService: Sendable {
    /// Makes `handler` the code that runs queued jobs of `endpoint` (also after a restart).
    func register(endpoint: String, handler: @escaping JobHandler)
    /// Runs the job now and returns its finished envelope; the job is recorded as `done`.
    func runNow(_ submission: JobSubmission, handler: @escaping JobHandler) async -> FinishedEnvelope
    /// Records the job as `queued` and returns the 202 body (``AcceptedJob``), or throws ``JobQueueFull``.
    func enqueue(_ submission: JobSubmission) async throws -> AcceptedJob
    /// The job with this id, or nil.
    func job(id: String) async throws -> JobRecord?
    /// The status of every job updated in the last `window` (submitted by `submitter` only, when given).
    func statuses(updatedWithin window: Duration, submitter: String?) async throws -> [(jobID: String, status: JobStatus)]
    /// For a submission with an `Idempotency-Key`: the first submission's answer when that key
    /// was used with the same request within ``IdempotencyKey/window``; nil to go on, the key
    /// then being held by this submission until ``releaseIdempotency(_:)``. Throws a `422` for
    /// the key used with another request, a `409` while its first submission still runs.
    func claimIdempotency(_ submission: JobSubmission) async throws -> IdempotentReplay?
    /// Releases the key ``claimIdempotency(_:)`` held, once the submission is recorded.
    func releaseIdempotency(_ submission: JobSubmission)
    /// Jobs waiting to run.
    var queueLength: Int { get }
    /// Opens what the service needs (its store, and that store's lock) before the host serves;
    /// throws when it cannot. Later calls do nothing.
    func open() async throws
    /// Releases what the service holds (database, HTTP clients); called once when the host stops.
    func shutdown() async
    /// Which store keeps the jobs (`sqlite`, `postgresql`), as `/health` names it.
    var storeKind: String { get }
    /// Why the job store is failing, or nil when it works (`/health` is `degraded` and `/ready`
    /// answers 503 meanwhile).
    var storeFailure: String? { get }
    /// True once the service has begun to shut down.
    var isDraining: Bool { get }
    /// The store's size and the room left on `LOCAL_STORAGE_PATH`'s file system.
    func storageReport() async -> StorageReport?
}

extension JobService {
    public func claimIdempotency(_ submission: JobSubmission) async throws -> IdempotentReplay? { nil }
    public func releaseIdempotency(_ submission: JobSubmission) {}
    public func open() async throws {}
    public func shutdown() async {}
    public var storeKind: String { "memory" }
    public var storeFailure: String? { nil }
    public var isDraining: Bool { false }
    public func storageReport() async -> StorageReport? { nil }
}

/// Runs one job: the handler of a route, given the job's request.
public typealias JobHandler = @Sendable (HandlerRequest) async throws -> HandlerResponse

/// What the pipeline hands to the queue step.
public struct JobSubmission: Sendable {
    public var jobID: String
    public var endpoint: String
    public var payload: JSONValue
    /// The `webhook_url` of a queued job.
    public var webhookURL: String?
    public var request: HandlerRequest
    /// The request's `Idempotency-Key`, when it has one.
    public var idempotency: IdempotencyKey?
    /// The key that sent it.
    public var submitter: String? { request.client?.submitter }

    public init(request: HandlerRequest, webhookURL: String?, idempotency: IdempotencyKey? = nil) {
        self.idempotency = idempotency
        self.jobID = request.jobID
        self.endpoint = request.endpoint
        self.payload = request.payload
        self.webhookURL = webhookURL
        self.request = request
    }
}

/// `MAX_QUEUE_LENGTH` jobs are already waiting.
public struct JobQueueFull: Error, Sendable {
    public var limit: Int
    /// A hint for `Retry-After`, in seconds.
    public var retryAfter: Int
}

public enum JobStatus: String, Sendable, Codable {
    case queued, running, done
}

/// A job as stored.
public struct JobRecord: Sendable {
    public var id: String
    public var endpoint: String
    public var status: JobStatus
    public var payload: JSONValue
    /// The `X-Request-Id` of the request that created the job.
    public var requestID: String
    /// The path and query of that request.
    public var uri: String
    /// That request's headers, without credentials (`X-API-Key`, `Authorization`, `Cookie`).
    public var headers: HTTPFields
    public var webhookURL: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// How many times a handler started on this job: more than 1 after a crash interrupted it.
    public var attempts: Int
    /// The finished envelope (when `done`).
    public var envelope: JSONValue?
    /// ``envelope`` serialized, when it already was: the store writes these bytes as they are,
    /// so they must be ``envelope``'s compact serialization.
    public var serializedEnvelope: [UInt8]?
    /// ``payload`` serialized, when it already was (its size is checked on submission): the
    /// store writes these bytes as they are.
    public var serializedPayload: [UInt8]?
    /// The webhook delivery state (jobs with a `webhook_url` that are `done`).
    public var webhook: WebhookDelivery?
    /// The key that submitted the job (``ClientIdentity/submitter``), for `JOB_VISIBILITY=key`
    /// and `Idempotency-Key`.
    public var submitter: String?
    /// The request's `Idempotency-Key` and the digest of what it was sent with.
    public var idempotency: IdempotencyKey?

    public init(
        id: String, endpoint: String, status: JobStatus, payload: JSONValue, requestID: String = "", uri: String = "",
        headers: HTTPFields = [:], webhookURL: String? = nil, createdAt: Date, updatedAt: Date, startedAt: Date? = nil,
        finishedAt: Date? = nil, attempts: Int = 0, envelope: JSONValue? = nil, webhook: WebhookDelivery? = nil,
        submitter: String? = nil, idempotency: IdempotencyKey? = nil
    ) {
        self.submitter = submitter
        self.idempotency = idempotency
        self.id = id
        self.endpoint = endpoint
        self.status = status
        self.payload = payload
        self.requestID = requestID
        self.uri = uri
        self.headers = headers
        self.webhookURL = webhookURL
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.attempts = attempts
        self.envelope = envelope
        self.webhook = webhook
    }
}

/// A synchronous job's envelope, with its JSON body serialized once for both the answer and
/// the job record.
public struct FinishedEnvelope: Sendable {
    public var envelope: Envelope
    /// `envelope.json`, serialized.
    public var body: [UInt8]

    public init(_ envelope: Envelope) {
        self.envelope = envelope
        body = envelope.json.serialized()
    }

    init(_ envelope: Envelope, json: JSONValue) {
        self.envelope = envelope
        body = json.serialized()
    }
}

/// The answer to a queued request: `202 {"code":202,"id","job_id","message":"processing","pid",
/// "queue_id","max_queue_length","queue_length","build_number"}`.
public struct AcceptedJob: Sendable {
    public var jobID: String
    public var id: JSONValue
    /// `MAX_QUEUE_LENGTH`; 0 means unlimited.
    public var maxQueueLength: Int
    public var queueLength: Int
    public var fields: EnvelopeFields

    public init(jobID: String, id: JSONValue, maxQueueLength: Int, queueLength: Int, fields: EnvelopeFields) {
        self.jobID = jobID
        self.id = id
        self.maxQueueLength = maxQueueLength
        self.queueLength = queueLength
        self.fields = fields
    }

    public var json: JSONValue {
        var object = JSONObject()
        object["code"] = 202
        object["id"] = id
        object["job_id"] = .string(jobID)
        object["message"] = "processing"
        object["pid"] = .number(JSONNumber(Int(fields.pid)))
        object["queue_id"] = .number(JSONNumber(fields.queueID))
        object["max_queue_length"] = maxQueueLength == 0 ? "unlimited" : .number(JSONNumber(maxQueueLength))
        object["queue_length"] = .number(JSONNumber(queueLength))
        object["build_number"] = fields.buildNumber
        return .object(object)
    }
}
