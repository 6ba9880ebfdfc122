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
    }

    private enum ClientState {
        case idle
        case running(HTTPClient)
        case shutDown
    }

    public let settings: Settings
    private let logger: Logger
    private let clientState = NIOLockedValueBox(ClientState.idle)

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    deinit {
        if case .running(let client) = clientState.withLockedValue({ $0 }) {
            _ = client.shutdown()
        }
    }

    /// Makes the next attempt at `webhook` and returns its new state, to be recorded: `delivered`,
    /// `failed`, or `pending` with the due time of the attempt after it (``WebhookRetryPolicy``).
    /// A delivery whose attempts are used up (`WEBHOOK_MAX_ATTEMPTS` lowered since) fails
    /// without an attempt.
    ///
    /// - Returns: nil when there is nothing to record: the deliverer is shut down, or the task
    ///   was cancelled (shutdown) during an attempt that did not get an answer; the delivery
    ///   stays as it was, `pending`.
    func deliverOnce(_ webhook: PendingWebhook) async -> WebhookDelivery? {
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
    func attempt(_ webhook: PendingWebhook) async -> AttemptOutcome? {
        guard let client = client() else { return nil }
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

    /// Shuts the HTTP client down; later attempts do nothing.
    public func shutdown() async {
        let state = clientState.withLockedValue { state in
            defer { state = .shutDown }
            return state
        }
        if case .running(let client) = state {
            try? await client.shutdown()
        }
    }

    private func client() -> HTTPClient? {
        clientState.withLockedValue { state in
            switch state {
            case .running(let client):
                return client
            case .shutDown:
                return nil
            case .idle:
                let timeout = TimeAmount(settings.timeout)
                var configuration = HTTPClient.Configuration(
                    redirectConfiguration: .disallow, timeout: .init(connect: timeout, read: timeout), decompression: .disabled)
                // A failed connection fails the attempt at once: the retry policy decides what follows.
                configuration.connectionPool.retryConnectionEstablishment = false
                let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
                state = .running(client)
                return client
            }
        }
    }

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
            return "could not connect to the receiver"
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return "timed out after \(settings.timeout)"
        }
        return "network error"
    }
}
