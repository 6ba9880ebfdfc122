import JSONSchema

/// The host's settings, read from the environment (and `.env`). Every variable, with its
/// default, is listed in the README and in `.env.example`.
public struct HostConfiguration: Sendable {
    /// `HOST` (default `0.0.0.0`).
    public var host: String
    /// `PORT` (default 8080).
    public var port: Int
    /// `API_KEY` plus the comma-separated `API_KEYS` (for rotation), plus the keys in the file
    /// `API_KEYS_FILE` names (one per line, or comma-separated; `#` starts a comment line).
    public var apiKeys: [String]
    /// `LOCAL_STORAGE_PATH` (default `./storage`): the job database and scratch files.
    public var storagePath: String
    /// `DOCS_ASSETS_PATH` (default `./.tools/swagger-ui`, where `scripts/setup` puts them): the
    /// folder of Swagger UI's files that `/docs` serves; without them `/docs` says how to get them.
    public var docsAssetsPath: String
    /// `MAX_BODY_BYTES` (default 1 MiB).
    public var maxBodyBytes: Int
    /// `METRICS_TOKEN` (or the file `METRICS_TOKEN_FILE` names; default none: metrics off): turns
    /// `GET /metrics` on, for `Authorization: Bearer <token>` only. Off, nothing is collected.
    public var metricsToken: String?
    /// `DISK_FREE_MIN_PERCENT` (default 5; 0: never): `/health` is `degraded` while the file
    /// system of `LOCAL_STORAGE_PATH` has less free space than this share of its size.
    public var diskFreeMinPercent: Double
    /// `MAX_STORED_JOB_BYTES` (default 65536): the largest payload a job keeps. A queued job
    /// needs its payload to run, so a larger one is refused with 413; a sync job's record keeps a
    /// note of the payload's size instead. Headers kept with a job are bounded too (8 KiB).
    public var maxStoredJobBytes: Int
    /// `MAX_JSON_DEPTH` (default 64): deeper request bodies are refused.
    public var maxJSONDepth: Int
    /// `MAX_QUEUE_LENGTH` (default 0: unlimited).
    public var maxQueueLength: Int
    /// `QUEUE_WORKERS` (default 1).
    public var queueWorkers: Int
    /// `JOB_TIMEOUT_SECONDS` (default 600, fractions allowed; 0: no limit, nil here): how long a
    /// job's handler may run, queued or sync. Past it the handler is cancelled and the job ends
    /// `done` with a 504 envelope saying it timed out; the worker takes the next job.
    ///
    /// - Note: a handler that ignores cancellation keeps running in the background after its
    ///   job has ended (its result is dropped); the limit frees the worker, not the work. Raise
    ///   the limit for endpoints that legitimately run long (large downloads, slow upstreams):
    ///   it applies to every job route.
    public var jobTimeout: Duration?
    /// `BUILD_NUMBER` (default 0), echoed in every envelope.
    public var buildNumber: JSONValue
    /// `SHUTDOWN_GRACE_SECONDS` (default 30): how long shutdown waits for requests in flight.
    public var shutdownGrace: Duration
    /// `STORE_LOCK_TIMEOUT_SECONDS` (default 30): how long a start waits for another process's
    /// lock on the job store (a rolling restart waits for the old process's drain), then exits.
    public var storeLockTimeout: Duration
    /// `DATABASE_URL` (default none: the SQLite store under `LOCAL_STORAGE_PATH`): a PostgreSQL
    /// job store that several hosts share (see ``DatabaseURL``).
    public var database: DatabaseURL?
    /// `DATABASE_POOL_SIZE` (default 10): connections to PostgreSQL at most (one more listens).
    public var databasePoolSize: Int
    /// `DATABASE_STATEMENT_TIMEOUT_SECONDS` (default 30; 0: none): PostgreSQL cancels a statement
    /// that runs longer (the `statement_timeout` startup parameter).
    public var databaseStatementTimeout: Duration
    /// `DATABASE_CONNECT_TIMEOUT_SECONDS` (default 10): how long a connection to PostgreSQL may take.
    public var databaseConnectTimeout: Duration
    /// `JOB_VISIBILITY` (default `all`): which jobs `job/status` and `jobs/status` show a key.
    /// `all`, as the original: every job, whoever submitted it. `key`: only the jobs submitted
    /// with the same API key (by fingerprint); another key's job answers the same 404 as an
    /// unknown one, and jobs submitted without a key (routes with `"auth": false`) are shown to none.
    public var jobVisibility: JobVisibility
    /// `JOB_LEASE_SECONDS` (default 30): how long a claimed job stays held without a renewal.
    /// A running job's lease is renewed every third of it; a host that dies loses its leases, and
    /// another host runs those jobs again about one lease later.
    public var jobLease: Duration
    /// `JOB_POLL_INTERVAL_SECONDS` (default 2): with a shared store, how often idle workers look
    /// for jobs besides being woken (so a lost notification delays a job by this at most).
    public var jobPollInterval: Duration
    /// `LOG_LEVEL` (default `info`).
    public var logLevel: String
    /// `LOG_FORMAT` (default `text`): `json` writes one JSON object per line (``JSONLogHandler``).
    public var logFormat: LogFormat
    /// `AUTH_FAILURE_LIMIT` (default 10): failed authentications per minute from one address
    /// before it gets 429; 0 disables.
    public var authFailureLimit: Int
    /// `WEBHOOK_TIMEOUT` (default 10 s, > 0): the longest one webhook attempt takes: connecting,
    /// sending, the receiver's response head and the little of its body that is read. A
    /// receiver that answers its head in time and then trickles its body is cut off at this
    /// limit (a 2xx head still counts as delivered).
    public var webhookTimeout: Duration
    /// `WEBHOOK_CONCURRENCY` (default 64): webhook attempts in progress at once (a delivery
    /// holds a slot during one attempt only).
    public var webhookConcurrency: Int
    /// `WEBHOOK_RECEIVER_CONCURRENCY` (default 8): attempts in progress at once to one receiver
    /// (scheme, host and port), so that a receiver that hangs or is slow holds this many slots
    /// at most and the others go on.
    public var webhookReceiverConcurrency: Int
    /// `WEBHOOK_MAX_ATTEMPTS` (default 5): attempts per webhook, the first included.
    public var webhookMaxAttempts: Int
    /// `WEBHOOK_RETRY_DELAY` (default 1 s): the first retry's delay; it doubles per attempt (with
    /// ±25 % jitter), up to 300 s. A receiver's `Retry-After` (seconds or an HTTP date) is
    /// honoured up to the same 300 s.
    public var webhookRetryDelay: Duration
    /// `WEBHOOK_SECRET` (default none): signs webhook bodies (see ``WebhookSigner``). Never
    /// logged or shown: the signer prints as `<redacted>`.
    public var webhookSigner: WebhookSigner?
    /// `WEBHOOK_ALLOWED_HOSTS` (default none: any host whose addresses are all public): the hosts
    /// `webhook_url` may name (`*.example.com` for subdomains, CIDR blocks for addresses); see
    /// ``WebhookHostPolicy``.
    public var webhookAllowedHosts: [String]
    /// `JOB_RETENTION_HOURS` (default 168, fractions allowed; 0 keeps jobs forever): finished
    /// jobs are deleted this long after their last update.
    public var jobRetention: Duration

    /// `RATE_LIMIT_PER_MINUTE` (default 600): requests per minute per client across all routes;
    /// 0 disables rate limiting.
    public var rateLimitPerMinute: Int
    /// `RATE_LIMIT_BURST` (default: the per-minute figure): the bucket size.
    public var rateLimitBurst: Int
    /// `RATE_LIMIT_MAX_CLIENTS` (default 100000): clients tracked at once per bucket set.
    public var rateLimitMaxClients: Int
    /// `TRUSTED_PROXIES` (default none): peers whose `X-Forwarded-For` is believed.
    public var trustedProxies: TrustedProxies
    /// `ALLOWED_ORIGINS` (default none): browser origins allowed by CORS (`*` for any).
    public var allowedOrigins: [String]
    /// `MAX_CONNECTIONS` (default 1024): concurrent connections accepted; more wait in the backlog.
    public var maxConnections: Int
    /// `MAX_CONNECTIONS_PER_CLIENT` (default: a sixteenth of `MAX_CONNECTIONS`, at least 8): open
    /// connections per client address (IPv6 per /64); more are closed at once. Peers in
    /// `TRUSTED_PROXIES` are exempt.
    public var maxConnectionsPerClient: Int
    /// `IDLE_TIMEOUT_SECONDS` (default 60): a connection with no traffic for this long is closed.
    public var idleTimeout: Duration

    /// `REQUEST_HEAD_TIMEOUT_SECONDS` (default 30): a connection that does not complete a request
    /// head within this time of being ready for one is closed (slow-loris defence).
    public var requestHeadTimeout: Duration
    /// `REQUEST_BODY_TIMEOUT_SECONDS` (default 60): the time a client has to send a request body.
    public var requestBodyTimeout: Duration

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public init(environment: EnvironmentValues) throws(EnvironmentError) {
        host = environment.string("HOST") ?? "0.0.0.0"
        port = try environment.integer("PORT", default: 8080, minimum: 0)
        let fileKeys = (try environment.secretFile("API_KEYS") ?? "")
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            .flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            .filter { !$0.isEmpty }
        apiKeys = [environment.string("API_KEY")].compactMap { $0 } + environment.list("API_KEYS") + fileKeys
        storagePath = environment.string("LOCAL_STORAGE_PATH") ?? "./storage"
        docsAssetsPath = environment.string("DOCS_ASSETS_PATH") ?? "./.tools/swagger-ui"
        maxBodyBytes = try environment.integer("MAX_BODY_BYTES", default: 1 << 20, minimum: 1)
        maxJSONDepth = try environment.integer("MAX_JSON_DEPTH", default: 64, minimum: 1)
        maxStoredJobBytes = try environment.integer("MAX_STORED_JOB_BYTES", default: 65536, minimum: 1024)
        let fileToken = try environment.secretFile("METRICS_TOKEN")
        if let fileToken, fileToken.isEmpty {
            throw EnvironmentError(name: "METRICS_TOKEN_FILE", value: environment.string("METRICS_TOKEN_FILE") ?? "", expected: "a file holding the token (it is empty)")
        }
        metricsToken = fileToken ?? environment.string("METRICS_TOKEN").flatMap { $0.isEmpty ? nil : $0 }
        let diskFree = environment.string("DISK_FREE_MIN_PERCENT") ?? "5"
        guard let diskFreeMinPercent = Double(diskFree.trimmingCharacters(in: .whitespaces)), (0...100).contains(diskFreeMinPercent) else {
            throw EnvironmentError(name: "DISK_FREE_MIN_PERCENT", value: diskFree, expected: "a percentage from 0 to 100, like 5")
        }
        self.diskFreeMinPercent = diskFreeMinPercent
        maxQueueLength = try environment.integer("MAX_QUEUE_LENGTH", default: 0, minimum: 0)
        queueWorkers = try environment.integer("QUEUE_WORKERS", default: 1, minimum: 1)
        let jobTimeout = try environment.seconds("JOB_TIMEOUT_SECONDS", default: 600)
        self.jobTimeout = jobTimeout == .zero ? nil : jobTimeout
        let build = environment.string("BUILD_NUMBER") ?? "0"
        buildNumber = Int(build).map { .number(JSONNumber($0)) } ?? .string(build)
        shutdownGrace = try environment.seconds("SHUTDOWN_GRACE_SECONDS", default: 30)
        storeLockTimeout = try environment.seconds("STORE_LOCK_TIMEOUT_SECONDS", default: 30)
        if let url = environment.string("DATABASE_URL"), !url.isEmpty {
            do {
                database = try DatabaseURL(parsing: url)
            } catch {
                throw EnvironmentError(name: "DATABASE_URL", value: DatabaseURL.redacted(url), expected: "\(error.message)")
            }
        } else {
            database = nil
        }
        databasePoolSize = try environment.integer("DATABASE_POOL_SIZE", default: 10, minimum: 1)
        databaseStatementTimeout = try environment.seconds("DATABASE_STATEMENT_TIMEOUT_SECONDS", default: 30)
        databaseConnectTimeout = try environment.seconds("DATABASE_CONNECT_TIMEOUT_SECONDS", default: 10, positive: true)
        let visibility = environment.string("JOB_VISIBILITY")?.lowercased() ?? "all"
        guard let jobVisibility = JobVisibility(rawValue: visibility) else {
            throw EnvironmentError(name: "JOB_VISIBILITY", value: visibility, expected: "all (every key sees every job) or key (each key sees its own jobs)")
        }
        self.jobVisibility = jobVisibility
        jobLease = try environment.seconds("JOB_LEASE_SECONDS", default: 30, positive: true)
        jobPollInterval = try environment.seconds("JOB_POLL_INTERVAL_SECONDS", default: 2, positive: true)
        logLevel = environment.string("LOG_LEVEL")?.lowercased() ?? "info"
        let format = environment.string("LOG_FORMAT")?.lowercased() ?? "text"
        guard let logFormat = LogFormat(rawValue: format) else {
            throw EnvironmentError(name: "LOG_FORMAT", value: format, expected: "text or json (one JSON object per line)")
        }
        self.logFormat = logFormat
        guard Self.logLevels.contains(logLevel) else {
            throw EnvironmentError(name: "LOG_LEVEL", value: logLevel, expected: "one of \(Self.logLevels.joined(separator: ", "))")
        }
        authFailureLimit = try environment.integer("AUTH_FAILURE_LIMIT", default: 10, minimum: 0)
        webhookTimeout = try environment.seconds("WEBHOOK_TIMEOUT", default: 10)
        if webhookTimeout == .zero {
            throw EnvironmentError(name: "WEBHOOK_TIMEOUT", value: environment.string("WEBHOOK_TIMEOUT") ?? "0", expected: "a number of seconds > 0, like 10 or 0.5")
        }
        webhookMaxAttempts = try environment.integer("WEBHOOK_MAX_ATTEMPTS", default: 5, minimum: 1)
        webhookConcurrency = try environment.integer("WEBHOOK_CONCURRENCY", default: 64, minimum: 1)
        webhookReceiverConcurrency = try environment.integer("WEBHOOK_RECEIVER_CONCURRENCY", default: 8, minimum: 1)
        webhookAllowedHosts = environment.list("WEBHOOK_ALLOWED_HOSTS")
        webhookRetryDelay = try environment.seconds("WEBHOOK_RETRY_DELAY", default: 1)
        let fileSecret = try environment.secretFile("WEBHOOK_SECRET")
        if let fileSecret, fileSecret.isEmpty {
            throw EnvironmentError(name: "WEBHOOK_SECRET_FILE", value: environment.string("WEBHOOK_SECRET_FILE") ?? "", expected: "a file holding the secret (it is empty)")
        }
        webhookSigner = (fileSecret ?? environment.string("WEBHOOK_SECRET")).map(WebhookSigner.init(secret:))
        jobRetention = try environment.hours("JOB_RETENTION_HOURS", default: 168)
        rateLimitPerMinute = try environment.integer("RATE_LIMIT_PER_MINUTE", default: 600, minimum: 0)
        rateLimitBurst = try environment.integer("RATE_LIMIT_BURST", default: rateLimitPerMinute, minimum: 1)
        rateLimitMaxClients = try environment.integer("RATE_LIMIT_MAX_CLIENTS", default: 100_000, minimum: 16)
        trustedProxies = try TrustedProxies(parsing: environment.list("TRUSTED_PROXIES"))
        allowedOrigins = environment.list("ALLOWED_ORIGINS")
        maxConnections = try environment.integer("MAX_CONNECTIONS", default: 1024, minimum: 1)
        maxConnectionsPerClient = try environment.integer("MAX_CONNECTIONS_PER_CLIENT", default: max(8, maxConnections / 16), minimum: 1)
        idleTimeout = try environment.seconds("IDLE_TIMEOUT_SECONDS", default: 60, positive: true)
        requestHeadTimeout = try environment.seconds("REQUEST_HEAD_TIMEOUT_SECONDS", default: 30, positive: true)
        requestBodyTimeout = try environment.seconds("REQUEST_BODY_TIMEOUT_SECONDS", default: 60, positive: true)
    }
}

/// `JOB_VISIBILITY`: see ``HostConfiguration/jobVisibility``.
public enum JobVisibility: String, Sendable {
    case all, key
}

/// `LOG_FORMAT`: see ``HostConfiguration/logFormat``.
public enum LogFormat: String, Sendable {
    case text, json
}
