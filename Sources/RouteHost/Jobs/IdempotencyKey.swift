import Crypto
import Foundation
import HTTPTypes
import JSONSchema

/// An `Idempotency-Key` request header and what it was sent with.
///
/// A client that retries a submission (after a timeout, say) sends the same key: within
/// ``window`` of the first, from the same API key, with the same request (route and body), it
/// gets the first submission's answer again and nothing runs twice. The same key with another
/// request is a `422`; while the first submission still runs, a `409`.
///
/// - Note: across several instances sharing PostgreSQL, two submissions with one key that
///   arrive at the same moment on different instances (not a retry after a timeout) can both
///   run: the key is checked against the store, not locked in it. A sync job's key counts from
///   when its record is written (right after its answer).
public struct IdempotencyKey: Sendable, Equatable {
    /// How long a key is remembered (the job itself is kept for `JOB_RETENTION_HOURS`).
    public static let window: TimeInterval = 24 * 3600
    /// The longest key accepted.
    public static let maximumLength = 255
    public static let header = HTTPField.Name("Idempotency-Key")!

    public var key: String
    /// SHA-256 of the route and the body as parsed, hex.
    public var digest: String

    public init(key: String, digest: String) {
        self.key = key
        self.digest = digest
    }

    /// The request's key, or nil without the header; a malformed key is a `400`.
    init?(headers: HTTPFields, endpoint: String, payload: JSONValue) throws {
        guard let key = headers[Self.header] else { return nil }
        guard !key.isEmpty, key.count <= Self.maximumLength, key.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7E }) else {
            throw RouteFailure(
                .badRequest,
                "Invalid Idempotency-Key: use 1 to \(Self.maximumLength) visible ASCII characters, a UUID for example")
        }
        var hasher = SHA256()
        hasher.update(data: Array(endpoint.utf8))
        hasher.update(data: [0])
        hasher.update(data: payload.serialized())
        self.init(key: key, digest: hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }
}

/// The first submission's answer, given again to a request with the same `Idempotency-Key`.
public enum IdempotentReplay: Sendable {
    /// A queued job: the same `202` (with the queue as it is now).
    case accepted(AcceptedJob)
    /// A sync job that finished: its envelope, byte for byte, with its status.
    case finished(code: Int, body: [UInt8])
}
