import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import JSONSchema
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// A resilient client of one upstream HTTP service, for modules that proxy it.
///
/// - Its own `HTTPClient`: no decompression, no redirects, a pool of ``UpstreamConfiguration/poolSize``
///   connections, a connect timeout, and no hidden connection retries (so a refused connection
///   fails at once and the ``RetryPolicy`` decides). Created on first use.
/// - ``send(_:logger:)``: circuit breaker, then up to `retry.attempts` attempts. Retried: connect
///   errors, timeouts before the response head, broken connections before the head, and 5xx.
///   Never retried: anything after the head has been accepted (so nothing after the first byte
///   reaches our client). Each discarded answer is read (up to 64 KiB) or closed.
/// - ``json(_:logger:)`` for small JSON answers, ``relay(_:logger:headers:)`` for streams.
/// - 4xx answers are passed through with the upstream's status and JSON (text is wrapped as
///   `{"error": text}`), `Retry-After` included; transport errors become our own 502/503/504 JSON;
///   a 5xx that survives its retries becomes 502 (503 and 504 keep their status).
/// - ``health``: a ``HealthCache`` of `GET <healthPath>` probes (one attempt, short timeout),
///   never consulted on the request path.
///
/// ```swift
/// let upstream = UpstreamClient(configuration: configuration, httpClients: context.httpClients, logger: context.logger)
/// let info = try await upstream.json(.postJSON("/v1/info", ["url": "..."]), logger: request.logger)
/// ```
public final class UpstreamClient: Sendable {
    public let configuration: UpstreamConfiguration
    public let breaker: CircuitBreaker
    public let health: HealthCache
    private let httpClients: HTTPClientFactory
    private let client = NIOLockedValueBox<HTTPClient?>(nil)
    private let logger: Logger

    /// The most of an error answer that is read (the rest is dropped with the connection).
    static let maxErrorBodyBytes = 64 * 1024

    /// - Parameter clock: the time of the breaker and the health cache (``ModuleContext/clock``).
    public init(configuration: UpstreamConfiguration, httpClients: HTTPClientFactory, logger: Logger, clock: HostClock = .system) {
        self.configuration = configuration
        self.breaker = CircuitBreaker(threshold: configuration.breakerThreshold, cooldown: configuration.breakerCooldown, clock: clock)
        self.httpClients = httpClients
        self.logger = logger
        let probe = HealthProbe(configuration: configuration)
        let clientBox = client
        let factory = httpClients
        self.health = HealthCache(ttl: configuration.healthTTL, clock: clock) {
            await probe.run(client: Self.httpClient(in: clientBox, factory: factory, configuration: configuration))
        }
    }

    /// Stops health probing. The HTTP client itself is shut down by the host's ``HTTPClientFactory``.
    public func shutdown() {
        health.shutdown()
    }

    /// The largest read from an upstream connection.
    package static let largestRead = 256 << 10

    var httpClient: HTTPClient {
        Self.httpClient(in: client, factory: httpClients, configuration: configuration)
    }

    private static func httpClient(in box: NIOLockedValueBox<HTTPClient?>, factory: HTTPClientFactory, configuration: UpstreamConfiguration) -> HTTPClient {
        box.withLockedValue { client in
            if let client { return client }
            var settings = HTTPClient.Configuration(
                redirectConfiguration: .disallow,
                timeout: .init(connect: TimeAmount(configuration.connectTimeout), read: nil),
                decompression: .disabled)
            settings.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = configuration.poolSize
            settings.connectionPool.retryConnectionEstablishment = false
            // The host bootstraps no tracer; AsyncHTTPClient would otherwise parse every request's
            // URL again for span attributes that go nowhere.
            settings.tracing.tracer = nil
            let receiveBuffer = configuration.receiveBufferBytes
            settings.http1_1ConnectionDebugInitializer = { channel in
                // Reads grow from 2 KiB up to 256 KiB while they come back full (NIO's default
                // stops at 64 KiB): a relayed stream costs a quarter of the reads and hand-offs,
                // a small answer still gets small buffers.
                // One read per readiness event (NIO's default is 4): what AsyncHTTPClient buffers
                // for a stream whose client is slower is one read, not four (see StreamRelay.heldBytesLimit).
                let reads = channel.setOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(
                    minimum: 64, initial: 2048, maximum: UpstreamClient.largestRead)).flatMap {
                    channel.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
                }
                guard let receiveBuffer else { return reads }
                return reads.flatMap {
                    channel.setOption(ChannelOptions.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
                }
            }
            let made = factory.makeClient(configuration: settings)
            client = made
            return made
        }
    }

    // MARK: Sending

    /// Sends `request` through the breaker and the retry policy.
    ///
    /// - Returns: the upstream's answer when its status is below 500; its body must be consumed or
    ///   dropped (dropping it closes the connection).
    /// - Throws: ``RouteFailure`` with our answer (circuit open, transport error, 5xx after the
    ///   retries), or `CancellationError`.
    public func send(_ request: UpstreamRequest, logger: Logger) async throws -> HTTPClientResponse {
        let permit = breaker.acquire()
        if case .rejected(let retryAfter) = permit {
            logger.warning("circuit open; request refused", metadata: ["retry_after": "\(retryAfter.secondsValue)"])
            throw UpstreamError.circuitOpen(retryAfter: retryAfter).routeFailure(serviceName: configuration.serviceName)
        }
        let attempts = permit == .allowed(trial: true) ? 1 : configuration.retry.attempts
        let prepared = prepare(request)
        var attempt = 1
        while true {
            let outcome: AttemptOutcome
            do {
                outcome = try await self.attempt(prepared, number: attempt, of: attempts, logger: logger)
            } catch {
                breaker.record(.abandoned, for: permit)
                throw error
            }
            switch outcome {
            case .answer(let response):
                breaker.record(.success, for: permit)
                return response
            case .failed(let failure):
                breaker.record(.failure, for: permit)
                throw failure
            case .retry(let delay):
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    breaker.record(.abandoned, for: permit)
                    throw error
                }
                attempt += 1
            }
        }
    }

    private enum AttemptOutcome {
        case answer(HTTPClientResponse)
        case failed(RouteFailure)
        case retry(after: Duration)
    }

    private func attempt(_ request: HTTPClientRequest, number: Int, of attempts: Int, logger: Logger) async throws -> AttemptOutcome {
        let service = configuration.serviceName
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, deadline: .now() + TimeAmount(configuration.headTimeout), logger: logger)
        } catch {
            if error is CancellationError || Task.isCancelled { throw CancellationError() }
            let failure = UpstreamError.classify(error, headTimeout: configuration.headTimeout)
            let last = number >= attempts || !failure.isRetryable
            logger.warning("upstream attempt failed", metadata: [
                "attempt": "\(number)/\(attempts)", "error": "\(failure)", "url": "\(request.url)", "final": "\(last)",
            ])
            if last { return .failed(failure.routeFailure(serviceName: service)) }
            return .retry(after: configuration.retry.delay(beforeAttempt: number + 1) ?? .zero)
        }
        guard response.status.code >= 500 else { return .answer(response) }
        let retryAfter = response.headers.first(name: "retry-after").flatMap { RetryAfter.parse($0) }
        let retryable = response.status.code != 501 && response.status.code != 505
        let delay = configuration.retry.delay(beforeAttempt: number + 1, retryAfter: retryAfter)
        let body = await Self.readSmallBody(response.body, limit: Self.maxErrorBodyBytes, timeout: configuration.headTimeout)
        let last = number >= attempts || !retryable || delay == nil
        var metadata: Logger.Metadata = [
            "attempt": "\(number)/\(attempts)", "status": "\(response.status.code)", "url": "\(request.url)", "final": "\(last)",
        ]
        if let said = Self.serverErrorText(body) { metadata["upstream_error"] = "\(said)" }
        guard last else {
            logger.warning("upstream answered with a server error; retrying", metadata: metadata)
            return .retry(after: delay ?? .zero)
        }
        // The upstream's own words stay in our logs (with the request id of `logger`), never in the answer.
        logger.error("upstream answered with a server error", metadata: metadata)
        return .failed(Self.serverErrorFailure(status: response.status.code, headers: response.headers, service: service))
    }

    private func prepare(_ request: UpstreamRequest) -> HTTPClientRequest {
        var prepared = HTTPClientRequest(url: configuration.url(request.path))
        prepared.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers {
            prepared.headers.add(name: field.name.rawName, value: field.value)
        }
        if !prepared.headers.contains(name: "user-agent") {
            prepared.headers.add(name: "User-Agent", value: "RouteHost/\(RouteHostVersion.current)")
        }
        if let body = request.body {
            prepared.body = .bytes(body)
        }
        return prepared
    }

    // MARK: Answers

    /// Sends `request` and returns the upstream's JSON answer (2xx).
    ///
    /// The body is read with the read-idle limit of streams (``UpstreamConfiguration/streamIdleTimeout``:
    /// the longest time without a byte, not a limit on the whole read) and the size limit
    /// ``UpstreamConfiguration/maxResponseBytes``.
    ///
    /// - Throws: ``RouteFailure``: the upstream's 4xx passed through, our 502 for a 2xx that is
    ///   not JSON, too large, stalled or broken off, and everything ``send(_:logger:)`` throws.
    public func json(_ request: UpstreamRequest, logger: Logger) async throws -> JSONValue {
        var request = request
        if request.headers[.accept] == nil { request.headers[.accept] = "application/json" }
        let response = try await send(request, logger: logger)
        guard (200..<300).contains(response.status.code) else {
            throw await failure(for: response, logger: logger)
        }
        let bytes: ByteBuffer
        do {
            bytes = try await UpstreamBody.collect(
                response.body, upTo: configuration.maxResponseBytes, idleTimeout: configuration.streamIdleTimeout)
        } catch UpstreamBody.Failure.tooLarge(let limit) {
            throw invalidAnswer("the answer is larger than \(limit) bytes", logger: logger)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            breaker.recordLateFailure()
            let why = (error as? UpstreamBody.Failure)?.description ?? UpstreamError.classify(error, headTimeout: configuration.headTimeout).description
            throw invalidAnswer("the answer broke off", detail: why, logger: logger)
        }
        do {
            return try JSONParser.parse(bytes.readableBytesView)
        } catch {
            throw invalidAnswer("the answer is not JSON (\(error.message))", logger: logger)
        }
    }

    /// Sends `request` and streams a 2xx answer to our client (see ``StreamRelay``).
    ///
    /// `Content-Length`, `Content-Range` and `Accept-Ranges` are relayed; `headers` adds the
    /// rest (content type, file name, ...) from the upstream's head.
    ///
    /// - Parameter connection: our client's connection: when it closes, the upstream request is
    ///   cancelled before another upstream chunk is read.
    /// - Throws: ``RouteFailure`` for anything but a 2xx (see ``send(_:logger:)``).
    public func relay(
        _ request: UpstreamRequest, logger: Logger, connection: ClientConnection, headers makeHeaders: (UpstreamHead) -> HTTPFields
    ) async throws -> Response {
        let response = try await send(request, logger: logger)
        guard (200..<300).contains(response.status.code) else {
            throw await failure(for: response, logger: logger)
        }
        var headers = makeHeaders(UpstreamHead(response))
        for name in ["Content-Range", "Accept-Ranges"] {
            if let value = response.headers.first(name: name), let field = HTTPField.Name(name) {
                headers[field] = value
            }
        }
        let contentLength = response.headers.first(name: "content-length").flatMap { Int($0) }
        let status = HTTPResponse.Status(code: Int(response.status.code))
        if response.status == .noContent || response.status == .resetContent {
            return Response(status: status, headers: headers)
        }
        let relay = StreamRelay(
            idleTimeout: configuration.streamIdleTimeout, clientStallTimeout: configuration.clientStallTimeout, logger: logger
        ) { [breaker] in
            breaker.recordLateFailure()
        }
        return relay.response(status: status, headers: headers, body: response.body, contentLength: contentLength, connection: connection)
    }

    /// Our answer for a non-2xx `response` that ``send(_:logger:)`` returned: 4xx passed through,
    /// 3xx (redirects are not followed) a 502.
    public func failure(for response: HTTPClientResponse, logger: Logger) async -> RouteFailure {
        let service = configuration.serviceName
        let code = Int(response.status.code)
        guard (400..<500).contains(code) else {
            logger.warning("upstream answered with an unexpected status", metadata: ["status": "\(code)"])
            return .upstream(.badGateway, ["error": .string("\(service) service failed"), "reason": .string("unexpected HTTP \(code)")])
        }
        let body = await Self.readSmallBody(response.body, limit: Self.maxErrorBodyBytes, timeout: configuration.headTimeout)
        var headers = HTTPFields()
        for name in ["Retry-After", "Content-Range"] {
            if let value = response.headers.first(name: name), let field = HTTPField.Name(name) {
                headers[field] = value
            }
        }
        logger.info("upstream refused the request", metadata: ["status": "\(code)"])
        let json = Self.clientErrorBody(body, reason: response.status.reasonPhrase, code: code)
        return RouteFailure(HTTPResponse.Status(code: code), message: json, body: json, headers: headers)
    }

    /// Our 502 for a 2xx we cannot use; `detail` is logged, not sent.
    private func invalidAnswer(_ reason: String, detail: String? = nil, logger: Logger) -> RouteFailure {
        var metadata: Logger.Metadata = ["reason": "\(reason)"]
        if let detail { metadata["detail"] = "\(detail)" }
        logger.error("upstream sent an invalid answer", metadata: metadata)
        return .upstream(.badGateway, [
            "error": .string("\(configuration.serviceName) service returned an invalid response"), "reason": .string(reason),
        ])
    }
}
