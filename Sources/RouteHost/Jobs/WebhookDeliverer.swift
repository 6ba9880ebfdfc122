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
/// that follows no redirects and does not decompress. `WEBHOOK_TIMEOUT` bounds the connection
/// and the wait for the response head; a 2xx head is a delivery. Retries follow
/// ``WebhookRetryPolicy``.
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

    /// Delivers `webhook`, retrying as the policy allows, and returns the final state.
    ///
    /// - Parameters:
    ///   - mayAttempt: checked before each attempt; false stops (shutdown), leaving the delivery `pending`.
    ///   - record: called after every attempt with the state to store.
    ///   - sleep: waits between attempts; returns false to stop early (shutdown), leaving the
    ///     delivery `pending` for the next start.
    func deliver(
        _ webhook: PendingWebhook, mayAttempt: () -> Bool = { true }, record: (WebhookDelivery) async -> Void,
        sleep: (Duration) async -> Bool
    ) async -> WebhookDelivery {
        var delivery = webhook.delivery
        while delivery.state == .pending && mayAttempt() {
            if delivery.attempts >= settings.retry.maxAttempts {
                delivery.state = .failed
                await record(delivery)
                break
            }
            guard let outcome = await attempt(webhook) else { break }
            if Task.isCancelled, case .retryable = outcome { break }
            delivery.attempts += 1
            var retryAfter: Duration?
            switch outcome {
            case .delivered(let status):
                delivery = WebhookDelivery(state: .delivered, attempts: delivery.attempts, lastStatus: status, lastError: nil, deliveredAt: Date())
            case .rejected(let status, let error):
                delivery.state = .failed
                delivery.lastStatus = status
                delivery.lastError = error
            case .retryable(let status, let error, let after):
                delivery.lastStatus = status
                delivery.lastError = error
                retryAfter = after
                if delivery.attempts >= settings.retry.maxAttempts { delivery.state = .failed }
            }
            await record(delivery)
            logger.log(
                level: delivery.state == .failed ? .warning : .debug, "webhook attempt",
                metadata: [
                    "job_id": "\(webhook.jobID)", "attempt": "\(delivery.attempts)", "state": "\(delivery.state.rawValue)",
                    "error": "\(delivery.lastError ?? "-")",
                ])
            if delivery.state == .pending {
                guard await sleep(settings.retry.delay(after: delivery.attempts, retryAfter: retryAfter)) else { break }
            }
        }
        return delivery
    }

    /// One `POST`; nil when the deliverer is shut down.
    func attempt(_ webhook: PendingWebhook) async -> AttemptOutcome? {
        guard let client = client() else { return nil }
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
            let retryAfter = WebhookRetryPolicy.parseRetryAfter(response.headers.first(name: "Retry-After"))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if (200..<300).contains(status) { return .delivered(status: status) }
            if WebhookRetryPolicy.isRetryable(status: status) {
                return .retryable(status: status, error: "HTTP \(status)", retryAfter: retryAfter)
            }
            return .rejected(status: status, error: "HTTP \(status)")
        } catch {
            return .retryable(status: nil, error: describe(error), retryAfter: nil)
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
