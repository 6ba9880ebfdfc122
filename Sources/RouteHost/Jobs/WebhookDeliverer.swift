import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Sends finished envelopes to `webhook_url`s, with a timeout, retries and an optional signature.
///
/// Each attempt is a `POST` of the stored envelope bytes with `Content-Type: application/json`
/// (plus ``WebhookSigner``'s headers when `WEBHOOK_SECRET` is set), through a client of its own
/// that follows no redirects and does not decompress. `WEBHOOK_TIMEOUT` bounds each attempt as
/// a whole: connecting, sending, the response head and what is read of the body; a 2xx head is
/// a delivery. An attempt never waits for the next one: it returns the delivery's new state,
/// with the due time of the next attempt (``WebhookRetryPolicy``), and ``WebhookScheduler``
/// starts that attempt when it is due.
///
/// - Note: delivery is at-least-once. The outcome is recorded after the receiver answers, so
///   if the process dies between a receiver's 2xx and that record, the webhook is sent again
///   after the restart, with the same body (same `job_id`). Receivers that must act once
///   should ignore a `job_id` they have already processed.
public final class WebhookDeliverer: Sendable {
    public struct Settings: Sendable {
        /// `WEBHOOK_TIMEOUT`.
        public var timeout: Duration
        public var retry: WebhookRetryPolicy
        /// Set when `WEBHOOK_SECRET` is.
        public var signer: WebhookSigner?

        public init(timeout: Duration, retry: WebhookRetryPolicy, signer: WebhookSigner?) {
            self.timeout = timeout
            self.retry = retry
            self.signer = signer
        }
    }

    /// What one attempt came to.
    enum AttemptOutcome: Equatable {
        case delivered(status: Int)
        case retryable(status: Int?, error: String, retryAfter: Duration?)
        case rejected(status: Int, error: String)
        /// Not sent: the host is not one webhooks may go to (``WebhookHostPolicy``).
        case refused(error: String)
    }

    /// The HTTP clients: one for the names the allow-list trusts (not resolved by us), and one per
    /// checked host → address, since AsyncHTTPClient pins a host to an address per client
    /// (`dnsOverride`), keeping TLS SNI and `Host` for the name.
    private struct Clients {
        var shared: HTTPClient?
        var pinned: [String: HTTPClient] = [:]
        var pinnedOrder: [String] = []
        var isShutDown = false
    }

    /// Pinned clients kept at once; past it the oldest is shut down (an attempt still using it
    /// fails and is retried).
    static let maxPinnedClients = 128

    public let settings: Settings
    private let policy: WebhookHostPolicy
    private let logger: Logger
    private let clients = NIOLockedValueBox(Clients())

    /// - Parameter policy: where webhooks may go; checked again before every attempt.
    public init(settings: Settings, policy: WebhookHostPolicy, logger: Logger) {
        self.settings = settings
        self.policy = policy
        self.logger = logger
    }

    deinit {
        let state = clients.withLockedValue { $0 }
        _ = state.shared?.shutdown()
        for client in state.pinned.values { _ = client.shutdown() }
    }

    /// Makes the next attempt at `webhook` and returns its new state, to be recorded: `delivered`,
    /// `failed`, or `pending` with the due time of the attempt after it (``WebhookRetryPolicy``).
    /// A delivery whose attempts are used up (`WEBHOOK_MAX_ATTEMPTS` lowered since) fails
    /// without an attempt.
    ///
    /// - Returns: nil when there is nothing to record: the deliverer is shut down, or the task
    ///   was cancelled (shutdown) during an attempt that did not get an answer; the delivery
    ///   stays as it was, `pending`.
    package func deliverOnce(_ webhook: PendingWebhook) async -> WebhookDelivery? {
        var delivery = webhook.delivery
        guard delivery.attempts < settings.retry.maxAttempts else {
            delivery.state = .failed
            delivery.nextAttemptAt = nil
            return delivery
        }
        guard let outcome = await attempt(webhook) else { return nil }
        if Task.isCancelled, case .retryable = outcome { return nil }
        delivery = next(after: delivery, outcome, at: Date())
        logger.log(
            level: delivery.state == .failed ? .warning : .debug, "webhook attempt",
            metadata: [
                "job_id": "\(webhook.jobID)", "attempt": "\(delivery.attempts)", "state": "\(delivery.state.rawValue)",
                "error": "\(delivery.lastError ?? "-")",
            ])
        return delivery
    }

    /// The state after one more attempt of `delivery` that came to `outcome` at `now`.
    func next(after delivery: WebhookDelivery, _ outcome: AttemptOutcome, at now: Date) -> WebhookDelivery {
        var delivery = delivery
        delivery.attempts += 1
        delivery.nextAttemptAt = nil
        switch outcome {
        case .delivered(let status):
            return WebhookDelivery(state: .delivered, attempts: delivery.attempts, lastStatus: status, lastError: nil, deliveredAt: now)
        case .rejected(let status, let error):
            delivery.state = .failed
            delivery.lastStatus = status
            delivery.lastError = error
        case .refused(let error):
            delivery.state = .failed
            delivery.lastStatus = nil
            delivery.lastError = error
        case .retryable(let status, let error, let retryAfter):
            delivery.lastStatus = status
            delivery.lastError = error
            if delivery.attempts >= settings.retry.maxAttempts {
                delivery.state = .failed
            } else {
                let delay = settings.retry.delay(after: delivery.attempts, retryAfter: retryAfter)
                delivery.nextAttemptAt = now.addingTimeInterval(delay.secondsValue)
            }
        }
        return delivery
    }

    /// One `POST`, bounded by `WEBHOOK_TIMEOUT` in all; nil when the deliverer is shut down.
    ///
    /// The receiver's status decides; its body is read (up to 64 KiB, so that the connection
    /// can be reused) only within what is left of the timeout, then dropped: a receiver that
    /// sends its head and then trickles a body is cut off (its connection closed) at the
    /// timeout, and a 2xx head still counts as delivered.
    ///
    /// The host is checked first (``WebhookHostPolicy``): a refused one is never connected to; a
    /// name that does not resolve fails the attempt with the same message as any failure to
    /// connect, so that job status cannot tell a closed port from an open one.
    func attempt(_ webhook: PendingWebhook) async -> AttemptOutcome? {
        // The host as AsyncHTTPClient reads it (Foundation's URL, case as written): the key of
        // its `dnsOverride`, so that the pin applies whatever the spelling.
        let host = URL(string: webhook.url)?.host ?? ""
        let pinned: IPAddress?
        switch await policy.decide(host) {
        case .refused(let reason):
            return .refused(error: "not sent: \(reason)")
        case .unresolved:
            return .retryable(status: nil, error: Self.couldNotConnect, retryAfter: nil)
        case .allowed(let address):
            pinned = address
        }
        guard let client = client(pinning: pinned.map { (host, $0) }) else { return nil }
        let deadline = ContinuousClock.now + settings.timeout
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "RouteHost/\(RouteHostVersion.current) (webhook)")
        if let signer = settings.signer {
            request.headers.add(name: "X-Webhook-Signature", value: signer.signature(of: webhook.body))
            request.headers.add(name: "X-Webhook-Timestamp", value: String(Int(Date().timeIntervalSince1970)))
        }
        request.body = .bytes(ByteBuffer(bytes: webhook.body))
        do {
            let response = try await client.execute(request, timeout: TimeAmount(settings.timeout))
            let status = Int(response.status.code)
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { RetryAfter.parse($0) }
            await Self.drain(response.body, until: deadline)
            if (200..<300).contains(status) { return .delivered(status: status) }
            if WebhookRetryPolicy.isRetryable(status: status) {
                return .retryable(status: status, error: "HTTP \(status)", retryAfter: retryAfter)
            }
            return .rejected(status: status, error: "HTTP \(status)")
        } catch {
            return .retryable(status: nil, error: describe(error), retryAfter: nil)
        }
    }

    /// Reads and drops `body` (at most 64 KiB) until `deadline`; past it the read is cancelled,
    /// which closes the connection.
    private static func drain(_ body: HTTPClientResponse.Body, until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = try? await body.collect(upTo: 64 * 1024) }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Shuts the HTTP clients down; later attempts do nothing.
    public func shutdown() async {
        let state = clients.withLockedValue { clients in
            defer { clients = Clients(isShutDown: true) }
            return clients
        }
        try? await state.shared?.shutdown()
        for client in state.pinned.values { try? await client.shutdown() }
    }

    /// The client for an attempt: the shared one, or one that connects `name` to `address` only.
    private func client(pinning pin: (name: String, address: IPAddress)?) -> HTTPClient? {
        let (client, evicted) = clients.withLockedValue { clients -> (HTTPClient?, HTTPClient?) in
            guard !clients.isShutDown else { return (nil, nil) }
            guard let pin else {
                if clients.shared == nil { clients.shared = makeClient(dnsOverride: [:]) }
                return (clients.shared, nil)
            }
            let key = "\(pin.name)>\(pin.address)"
            if let client = clients.pinned[key] { return (client, nil) }
            let client = makeClient(dnsOverride: [pin.name: pin.address.description])
            clients.pinned[key] = client
            clients.pinnedOrder.append(key)
            guard clients.pinnedOrder.count > Self.maxPinnedClients else { return (client, nil) }
            let oldest = clients.pinnedOrder.removeFirst()
            return (client, clients.pinned.removeValue(forKey: oldest))
        }
        if let evicted { evicted.shutdown { _ in } }
        return client
    }

    private func makeClient(dnsOverride: [String: String]) -> HTTPClient {
        let timeout = TimeAmount(settings.timeout)
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: timeout, read: timeout), decompression: .disabled)
        // A failed connection fails the attempt at once: the retry policy decides what follows.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.dnsOverride = dnsOverride
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    static let couldNotConnect = "could not connect to the receiver"

    /// A short reason for job status: never the error's internals.
    private func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return "timed out after \(settings.timeout)"
            case .remoteConnectionClosed:
                return "the receiver closed the connection without answering"
            case .invalidURL, .emptyHost, .emptyScheme:
                return "invalid webhook_url"
            default:
                return "request failed"
            }
        }
        if error is NIOConnectionError || error is IOError {
            return Self.couldNotConnect
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return "timed out after \(settings.timeout)"
        }
        return "network error"
    }
}
