import Foundation
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
    func runNow(_ submission: JobSubmission, handler: @escaping JobHandler) async -> Envelope
    /// Records the job as `queued` and returns the 202 body (``AcceptedJob``), or throws ``JobQueueFull``.
    func enqueue(_ submission: JobSubmission) async throws -> AcceptedJob
    /// The job with this id, or nil.
    func job(id: String) async throws -> JobRecord?
    /// The status of every job updated in the last `window`.
    func statuses(updatedWithin window: Duration) async throws -> [(jobID: String, status: JobStatus)]
    /// Jobs waiting to run.
    var queueLength: Int { get }
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

    public init(request: HandlerRequest, webhookURL: String?) {
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
    public var createdAt: Date
    public var updatedAt: Date
    public var attempts: Int
    /// The finished envelope (when `done`).
    public var envelope: JSONValue?
    public var webhookURL: String?
    /// The webhook delivery state: `{"state":"pending|delivered|failed","attempts":n,"last_error":...}`.
    public var webhook: JSONValue?

    public init(
        id: String, endpoint: String, status: JobStatus, payload: JSONValue, createdAt: Date, updatedAt: Date,
        attempts: Int, envelope: JSONValue?, webhookURL: String?, webhook: JSONValue?
    ) {
        self.id = id
        self.endpoint = endpoint
        self.status = status
        self.payload = payload
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.attempts = attempts
        self.envelope = envelope
        self.webhookURL = webhookURL
        self.webhook = webhook
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
