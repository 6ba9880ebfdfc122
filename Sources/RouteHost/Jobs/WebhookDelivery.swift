import Foundation
import JSONSchema

/// Where a job's webhook stands, as job status shows it under `webhook`.
///
/// ```json
/// {"state":"delivered","attempts":3,"last_status":200,"last_error":null,"delivered_at":"2025-01-01T12:00:00Z",
///  "next_attempt_at":null}
/// ```
///
/// A `pending` delivery has `next_attempt_at`: when its next attempt is due (the job's finish
/// time for the first one). The time is a due date, not a promise: with every delivery slot
/// busy, or the host stopped, the attempt comes later.
public struct WebhookDelivery: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Not delivered yet: the first attempt or a retry is due (also after a restart).
        case pending
        /// The receiver answered 2xx. Never sent again.
        case delivered
        /// Given up: the attempts ran out, or the receiver refused it with a 4xx other than 408 and 429.
        case failed
    }

    public var state: State
    /// Attempts made so far (across restarts).
    public var attempts: Int
    /// The receiver's last HTTP status, nil when no answer came.
    public var lastStatus: Int?
    /// Why the last attempt did not deliver (`HTTP 500`, `timed out after 10s`, ...).
    public var lastError: String?
    public var deliveredAt: Date?
    /// When the next attempt is due; nil once `delivered` or `failed`.
    public var nextAttemptAt: Date?

    public init(
        state: State = .pending, attempts: Int = 0, lastStatus: Int? = nil, lastError: String? = nil, deliveredAt: Date? = nil,
        nextAttemptAt: Date? = nil
    ) {
        self.state = state
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.deliveredAt = deliveredAt
        self.nextAttemptAt = nextAttemptAt
    }

    public static let pending = WebhookDelivery()

    public var json: JSONValue {
        var object = JSONObject()
        object["state"] = .string(state.rawValue)
        object["attempts"] = .number(JSONNumber(attempts))
        object["last_status"] = lastStatus.map { .number(JSONNumber($0)) } ?? .null
        object["last_error"] = lastError.map(JSONValue.string) ?? .null
        object["delivered_at"] = deliveredAt.map { .string($0.formatted(.iso8601)) } ?? .null
        object["next_attempt_at"] = nextAttemptAt.map { .string($0.formatted(.iso8601)) } ?? .null
        return .object(object)
    }
}
