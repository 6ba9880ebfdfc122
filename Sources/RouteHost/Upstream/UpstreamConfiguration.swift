import Foundation
import JSONSchema

/// The settings of one upstream relay: where the service is, and how patient to be with it.
///
/// ``init(serviceName:baseURL:environment:prefix:)`` reads every setting from the environment
/// under a prefix, so that each proxy module gets the same knobs (`YOUTUBE_RETRY_ATTEMPTS`,
/// `OTHER_RETRY_ATTEMPTS`, ...). Durations are seconds and accept fractions; the timeouts marked
/// "> 0" refuse 0 (which would fail every call at once).
///
/// | variable (`<P>` = prefix)   | default | meaning |
/// |-----------------------------|---------|---------|
/// | `<P>_SERVICE_TIMEOUT`       | 30      | time to the response head, per attempt (> 0) |
/// | `<P>_CONNECT_TIMEOUT`       | 5       | time to open a connection (> 0) |
/// | `<P>_STREAM_IDLE_TIMEOUT`   | 30      | longest time without a byte of an upstream body, streamed or JSON (> 0) |
/// | `<P>_CLIENT_STALL_TIMEOUT`  | 120     | longest time our client may take no bytes of a stream before it is cut off (> 0) |
/// | `<P>_RETRY_ATTEMPTS`        | 3       | attempts per request, the first included |
/// | `<P>_RETRY_DELAY`           | 1       | backoff base (doubles per attempt, plus up to 50 % jitter) |
/// | `<P>_RETRY_MAX_DELAY`       | 30      | cap of one backoff |
/// | `<P>_RETRY_AFTER_MAX`       | 10      | longest upstream `Retry-After` waited for; longer ones end the retries |
/// | `<P>_BREAKER_THRESHOLD`     | 5       | consecutive failed requests that open the circuit (0: no breaker) |
/// | `<P>_BREAKER_COOLDOWN`      | 30      | how long the circuit stays open before one trial request |
/// | `<P>_HEALTH_TTL`            | 10      | how long a health probe result is reused (failures: a fifth of it) |
/// | `<P>_HEALTH_TIMEOUT`        | 3       | timeout of one health probe (> 0) |
/// | `<P>_POOL_SIZE`             | 64      | connections kept to the upstream (each stream holds one) |
/// | `<P>_MAX_RESPONSE_BYTES`    | 16777216| largest JSON answer read into memory |
/// | `<P>_RECEIVE_BUFFER_BYTES`  | 1048576 | `SO_RCVBUF` of upstream connections (0: kernel autotuning) |
public struct UpstreamConfiguration: Sendable {
    /// The name used in messages to clients (`"YouTube"` → "YouTube service is currently unavailable").
    public var serviceName: String
    /// The service's base URL (`http://localhost:3001`); request paths are appended to it.
    public var baseURL: URL
    public var connectTimeout: Duration
    /// The time to the response head of one attempt (not the body).
    public var headTimeout: Duration
    /// The longest time without a byte of an upstream body: a streamed one (``StreamRelay``) or
    /// a JSON one (``UpstreamClient/json(_:logger:)``). Not a limit on the whole body, so a slow
    /// but steady answer is never cut. Time spent waiting for our own client to take bytes
    /// (backpressure) does not count.
    public var streamIdleTimeout: Duration
    /// The longest time our client may take no bytes of a stream (its writes waiting on
    /// backpressure) before the connection is closed and the upstream request cancelled. A client
    /// that stops reading would otherwise hold the stream, and an upstream connection, forever.
    /// Measured at our end of the socket (see ``StreamRelay`` for what the kernel buffers hide).
    public var clientStallTimeout: Duration
    public var retry: RetryPolicy
    public var breakerThreshold: Int
    public var breakerCooldown: Duration
    /// The path probed by health checks.
    public var healthPath: String
    /// A path describing the service (its name, version, ...), fetched with each healthy probe
    /// and kept in the health cache (``HealthCache/Snapshot/serviceInfo``); nil: not fetched.
    public var infoPath: String?
    public var healthTTL: Duration
    public var healthTimeout: Duration
    public var poolSize: Int
    public var maxResponseBytes: Int
    /// `SO_RCVBUF` of upstream connections (nil: the kernel's autotuning, which on Linux may
    /// grow each connection's buffer to `tcp_rmem`'s maximum). A fixed size bounds the kernel
    /// memory each stream holds and what the upstream sends after our client goes away.
    public var receiveBufferBytes: Int?

    /// Settings with the defaults of the table above.
    public init(serviceName: String, baseURL: URL) {
        self.serviceName = serviceName
        self.baseURL = baseURL
        connectTimeout = .seconds(5)
        headTimeout = .seconds(30)
        streamIdleTimeout = .seconds(30)
        clientStallTimeout = .seconds(120)
        retry = RetryPolicy(attempts: 3, baseDelay: .seconds(1))
        breakerThreshold = 5
        breakerCooldown = .seconds(30)
        healthPath = "/healthz"
        healthTTL = .seconds(10)
        healthTimeout = .seconds(3)
        poolSize = 64
        maxResponseBytes = 16 << 20
        receiveBufferBytes = 1 << 20
    }

    /// Settings read from `environment` under `prefix` (see the table above).
    ///
    /// - Throws: ``EnvironmentError`` naming the first variable that does not parse, or that is 0
    ///   where the table says "> 0".
    public init(serviceName: String, baseURL: URL, environment: EnvironmentValues, prefix: String) throws(EnvironmentError) {
        self.init(serviceName: serviceName, baseURL: baseURL)
        let p = prefix
        headTimeout = try Self.positiveSeconds("\(p)_SERVICE_TIMEOUT", default: 30, in: environment)
        connectTimeout = try Self.positiveSeconds("\(p)_CONNECT_TIMEOUT", default: 5, in: environment)
        streamIdleTimeout = try Self.positiveSeconds("\(p)_STREAM_IDLE_TIMEOUT", default: 30, in: environment)
        clientStallTimeout = try Self.positiveSeconds("\(p)_CLIENT_STALL_TIMEOUT", default: 120, in: environment)
        retry = RetryPolicy(
            attempts: try environment.integer("\(p)_RETRY_ATTEMPTS", default: 3, minimum: 1),
            baseDelay: try environment.seconds("\(p)_RETRY_DELAY", default: 1),
            maxDelay: try environment.seconds("\(p)_RETRY_MAX_DELAY", default: 30),
            maxRetryAfter: try environment.seconds("\(p)_RETRY_AFTER_MAX", default: 10))
        breakerThreshold = try environment.integer("\(p)_BREAKER_THRESHOLD", default: 5, minimum: 0)
        breakerCooldown = try environment.seconds("\(p)_BREAKER_COOLDOWN", default: 30)
        healthTTL = try environment.seconds("\(p)_HEALTH_TTL", default: 10)
        healthTimeout = try Self.positiveSeconds("\(p)_HEALTH_TIMEOUT", default: 3, in: environment)
        poolSize = try environment.integer("\(p)_POOL_SIZE", default: 64, minimum: 1)
        maxResponseBytes = try environment.integer("\(p)_MAX_RESPONSE_BYTES", default: 16 << 20, minimum: 1024)
        let receiveBuffer = try environment.integer("\(p)_RECEIVE_BUFFER_BYTES", default: 1 << 20, minimum: 0)
        receiveBufferBytes = receiveBuffer == 0 ? nil : receiveBuffer
    }

    /// A duration in seconds that must not be 0 (nor round to 0 ms: durations are kept in ms).
    static func positiveSeconds(_ name: String, default defaultValue: Double, in environment: EnvironmentValues) throws(EnvironmentError) -> Duration {
        let duration = try environment.seconds(name, default: defaultValue)
        guard duration > .zero else {
            throw EnvironmentError(name: name, value: environment[name] ?? "", expected: "a number of seconds > 0 (at least 0.001), like 30 or 0.5")
        }
        return duration
    }

    /// The URL of `path` (starting with `/`) on the service.
    public func url(_ path: String) -> String {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }

    /// The effective settings as discovery shows them (no secrets: the URL's user, password
    /// and query are dropped). Durations are in seconds.
    public var json: JSONValue {
        var object = JSONObject()
        object["service_url"] = .string(Self.redacted(baseURL))
        object["timeout"] = Self.seconds(headTimeout)
        object["service_timeout"] = Self.seconds(headTimeout)
        object["connect_timeout"] = Self.seconds(connectTimeout)
        object["stream_idle_timeout"] = Self.seconds(streamIdleTimeout)
        object["client_stall_timeout"] = Self.seconds(clientStallTimeout)
        object["retry_attempts"] = .number(JSONNumber(retry.attempts))
        object["retry_delay"] = Self.seconds(retry.baseDelay)
        object["retry_max_delay"] = Self.seconds(retry.maxDelay)
        object["retry_after_max"] = Self.seconds(retry.maxRetryAfter)
        object["breaker_threshold"] = .number(JSONNumber(breakerThreshold))
        object["breaker_cooldown"] = Self.seconds(breakerCooldown)
        object["health_ttl"] = Self.seconds(healthTTL)
        object["health_timeout"] = Self.seconds(healthTimeout)
        object["pool_size"] = .number(JSONNumber(poolSize))
        object["max_response_bytes"] = .number(JSONNumber(maxResponseBytes))
        object["receive_buffer_bytes"] = receiveBufferBytes.map { .number(JSONNumber($0)) } ?? .null
        return .object(object)
    }

    /// `url` without user information or query.
    public static func redacted(_ url: URL) -> String {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return redacted(url.absoluteString) }
        components.user = nil
        components.password = nil
        components.query = nil
        return components.string ?? redacted(url.absoluteString)
    }

    /// A URL as written, whether it parses or not, without what sits between `//` and `@`
    /// (user information) or after `?`: for messages about a URL that may carry credentials.
    public static func redacted(_ text: String) -> String {
        var text = Substring(text)
        // User information first (a password may hold '?' or '/'): up to the last '@' of the authority.
        if let start = text.range(of: "//"), let at = text[start.upperBound...].lastIndex(of: "@") {
            text = text[..<start.upperBound] + "…@" + text[text.index(after: at)...]
        }
        if let query = text.firstIndex(of: "?") { text = text[..<query] }
        return String(text)
    }

    static func seconds(_ duration: Duration) -> JSONValue {
        .number(JSONNumber((duration.secondsValue * 1000).rounded() / 1000))
    }
}
