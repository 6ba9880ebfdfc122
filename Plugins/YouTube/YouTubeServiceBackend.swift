import Foundation
import HTTPTypes
import Hummingbird
import JSONSchema
import Logging
import RouteHost

/// The relay backend: every route goes to the YouTube downloader service at `service_url`
/// (``UpstreamClient``: retries before the first byte, circuit breaker, cached health,
/// streaming with backpressure).
struct YouTubeServiceBackend: YouTubeBackend {
    let upstream: UpstreamClient

    var kind: String { "service" }

    init(serviceURL: String, context: ModuleContext) throws {
        guard let url = URL(string: serviceURL), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else {
            throw ModuleConfigurationError(
                key: ["service_url"], message: "'\(UpstreamConfiguration.redacted(serviceURL))' is not an http:// or https:// URL",
                fix: "set YOUTUBE_SERVICE_URL to the downloader's base URL, like http://localhost:3001")
        }
        var settings: UpstreamConfiguration
        do {
            settings = try UpstreamConfiguration(serviceName: "YouTube", baseURL: url, environment: context.environment, prefix: "YOUTUBE")
        } catch {
            throw ModuleConfigurationError(message: error.description, fix: "fix the variable in the environment or .env")
        }
        settings.infoPath = "/"
        upstream = UpstreamClient(configuration: settings, httpClients: context.httpClients, logger: context.logger, clock: context.clock)
        // Discovery reads the health cache only: its first probe starts now, not at the first request.
        if context.isServing { _ = upstream.health.cached() }
    }

    func info(_ target: YouTubeTarget, _ request: HandlerRequest) async throws -> JSONValue {
        let answer = try await upstream.json(
            .postJSON("/v1/media/youtube/info", ["url": .string(target.url)], headers: Self.forwardedHeaders(request, range: false)),
            logger: request.logger)
        guard answer["success"]?.boolValue != false, let data = answer["data"], case .object = data else {
            request.logger.error("downloader answered /info without a data object")
            throw RouteFailure(.badGateway, message: ["error": "YouTube service returned an invalid response", "reason": "no 'data' object"],
                               body: ["error": "YouTube service returned an invalid response", "reason": "no 'data' object"])
        }
        return answer
    }

    func stream(_ media: YouTubeMedia, _ target: YouTubeTarget, quality: String, _ request: HandlerRequest) async throws -> Response {
        let body: JSONValue = ["url": .string(target.url), "quality": .string(quality)]
        var headers = Self.forwardedHeaders(request, range: true)
        headers[.accept] = "*/*"
        return try await upstream.relay(.postJSON(media.upstreamPath, body, headers: headers), logger: request.logger, connection: request.connection) { response in
            YouTubeStreamHeaders.make(upstream: response.headers, media: media, videoID: target.fallbackStem)
        }
    }

    func healthAnswer(refresh: Bool) async -> HandlerResponse {
        let snapshot = refresh ? await upstream.health.refresh() : await upstream.health.current()
        var object = JSONObject()
        let url = JSONValue.string(UpstreamConfiguration.redacted(upstream.configuration.baseURL))
        if snapshot.healthy {
            object["status"] = "healthy"
            object["microservice"] = snapshot.details ?? .object([:])
            object["url"] = url
            object["timeout"] = .number(JSONNumber(upstream.configuration.headTimeout.secondsValue))
        } else {
            // As the original: "unhealthy" when the service answered, "unavailable" when it could not be reached.
            object["status"] = snapshot.reachable ? "unhealthy" : "unavailable"
            object["error"] = .string(snapshot.reason ?? "unhealthy")
            object["url"] = url
        }
        object["backend"] = "service"
        object["circuit"] = .string(upstream.breaker.snapshot.state.rawValue)
        object["checked_at"] = .string(YouTubeModule.timestamp(snapshot.checkedAt))
        object["age_seconds"] = .number(JSONNumber((Date().timeIntervalSince(snapshot.checkedAt) * 1000).rounded() / 1000))
        object["latency_ms"] = .number(JSONNumber((snapshot.latency.secondsValue * 1_000_000).rounded() / 1000))
        return HandlerResponse(.object(object), status: snapshot.healthy ? .ok : .serviceUnavailable)
    }

    func serviceStatus() -> YouTubeServiceStatus {
        let snapshot = upstream.health.cached()
        let healthy = snapshot?.healthy ?? false
        return YouTubeServiceStatus(
            url: UpstreamConfiguration.redacted(upstream.configuration.baseURL), healthy: healthy,
            info: healthy ? (snapshot?.serviceInfo?.objectValue ?? [:]) : [:])
    }

    /// What `/health` (no key needed) shows: no service URL, no upstream details.
    func moduleHealth() async -> ModuleHealth {
        var details = JSONObject()
        details["backend"] = "service"
        details["circuit"] = .string(upstream.breaker.snapshot.state.rawValue)
        guard let snapshot = upstream.health.cached() else {
            details["reason"] = "not checked yet"
            return ModuleHealth(status: .degraded, details: details)
        }
        details["checked_at"] = .string(YouTubeModule.timestamp(snapshot.checkedAt))
        if let reason = snapshot.reason { details["reason"] = .string(reason) }
        if !snapshot.healthy { return ModuleHealth(status: .unhealthy, details: details) }
        return ModuleHealth(status: upstream.breaker.snapshot.state == .closed ? .healthy : .degraded, details: details)
    }

    func backendDocument() -> JSONObject {
        let breaker = upstream.breaker.snapshot
        var backend = JSONObject()
        backend["type"] = "service"
        backend["url"] = .string(UpstreamConfiguration.redacted(upstream.configuration.baseURL))
        if let snapshot = upstream.health.cached() {
            var health = JSONObject()
            health["status"] = snapshot.healthy ? "healthy" : "unhealthy"
            if let reason = snapshot.reason { health["reason"] = .string(reason) }
            health["checked_at"] = .string(YouTubeModule.timestamp(snapshot.checkedAt))
            backend["health"] = .object(health)
        } else {
            backend["health"] = ["status": "unknown", "reason": "not checked yet"]
        }
        var circuit = JSONObject()
        circuit["state"] = .string(breaker.state.rawValue)
        circuit["consecutive_failures"] = .number(JSONNumber(breaker.consecutiveFailures))
        circuit["retry_after"] = breaker.retryAfter.map { .number(JSONNumber(($0.secondsValue * 1000).rounded() / 1000)) } ?? .null
        backend["circuit"] = .object(circuit)
        return backend
    }

    var configurationDocument: JSONValue { upstream.configuration.json }

    func shutdown() async {
        upstream.shutdown()
    }

    /// The client's headers that go upstream: its request id, and for streams `Range`/`If-Range`.
    static func forwardedHeaders(_ request: HandlerRequest, range: Bool) -> HTTPFields {
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Request-Id")!] = request.requestID
        if range {
            for name in ["Range", "If-Range"] {
                if let field = HTTPField.Name(name), let value = request.headers[field] { headers[field] = value }
            }
        }
        return headers
    }
}
