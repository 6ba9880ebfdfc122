import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import JSONSchema
import RouteHost

/// The YouTube route module (`"plugin": "youtube"`): relays to the YouTube downloader service.
///
/// Handlers:
/// - `discovery` (plain): service, version, backend URL, cached health, circuit state, the five
///   endpoints and the effective configuration (no secrets).
/// - `health` (plain): 200 when the downloader's cached health is good, else 503 with the
///   reason; `?refresh=true` probes now.
/// - `info` (envelope, queueable): `POST /v1/media/youtube/info` upstream; its `data` object is
///   the envelope's `response`.
/// - `mp3`, `mp4` (stream): the downloader's body relayed as it arrives, with `Range` support.
///
/// Every handler that takes a URL accepts only YouTube video URLs (``YouTubeURL``) and sends the
/// normalised `https://www.youtube.com/watch?v=ID` upstream; anything else is a 400 before any
/// upstream call.
///
/// Configuration: `service_url` in routes.json (usually `${YOUTUBE_SERVICE_URL:-http://localhost:3001}`);
/// everything else from the environment with the `YOUTUBE_` prefix (``UpstreamConfiguration``).
public struct YouTubeModule: RouteModule {
    public struct Configuration: Decodable, Sendable {
        /// The downloader's base URL.
        public var service_url: String
    }

    public static let pluginName = "youtube"
    public static let configurationKeys: [String]? = ["service_url"]

    let upstream: UpstreamClient
    let prefix: String

    public init(configuration: Configuration, context: ModuleContext) throws {
        guard let url = URL(string: configuration.service_url), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else {
            throw ModuleConfigurationError(
                key: ["service_url"], message: "'\(configuration.service_url)' is not an http:// or https:// URL",
                fix: "set YOUTUBE_SERVICE_URL to the downloader's base URL, like http://localhost:3001")
        }
        let settings: UpstreamConfiguration
        do {
            settings = try UpstreamConfiguration(serviceName: "YouTube", baseURL: url, environment: context.environment, prefix: "YOUTUBE")
        } catch {
            throw ModuleConfigurationError(message: error.description, fix: "fix the variable in the environment or .env")
        }
        upstream = UpstreamClient(configuration: settings, httpClients: context.httpClients, logger: context.logger)
        prefix = context.prefix
    }

    public var handlers: [String: RouteHandler] {
        [
            "discovery": .plain { _ in HandlerResponse(discoveryDocument()) },
            "health": .plain { request in await healthAnswer(refresh: Self.wantsRefresh(request.uri)) },
            "info": .envelope { request in try await info(request) },
            "mp3": .stream { request in try await stream(.mp3, request) },
            "mp4": .stream { request in try await stream(.mp4, request) },
        ]
    }

    public func health() async -> ModuleHealth {
        var details = JSONObject()
        details["service_url"] = .string(UpstreamConfiguration.redacted(upstream.configuration.baseURL))
        details["circuit"] = .string(upstream.breaker.snapshot.state.rawValue)
        guard let snapshot = upstream.health.cached() else {
            details["reason"] = "not checked yet"
            return ModuleHealth(status: .degraded, details: details)
        }
        details["checked_at"] = .string(Self.timestamp(snapshot.checkedAt))
        if let reason = snapshot.reason { details["reason"] = .string(reason) }
        if !snapshot.healthy { return ModuleHealth(status: .unhealthy, details: details) }
        return ModuleHealth(status: upstream.breaker.snapshot.state == .closed ? .healthy : .degraded, details: details)
    }

    public func shutdown() async {
        upstream.shutdown()
    }

    // MARK: Handlers

    func info(_ request: HandlerRequest) async throws -> HandlerResponse {
        let url = try Self.videoURL(in: request.payload)
        let answer = try await upstream.json(
            .postJSON("/v1/media/youtube/info", ["url": .string(url.normalized)], headers: Self.forwardedHeaders(request, range: false)),
            logger: request.logger)
        guard answer["success"]?.boolValue != false, let data = answer["data"], case .object = data else {
            request.logger.error("downloader answered /info without a data object")
            throw RouteFailure(.badGateway, message: ["error": "YouTube service returned an invalid response", "reason": "no 'data' object"],
                               body: ["error": "YouTube service returned an invalid response", "reason": "no 'data' object"])
        }
        return HandlerResponse(data)
    }

    func stream(_ media: YouTubeMedia, _ request: HandlerRequest) async throws -> Response {
        let url = try Self.videoURL(in: request.payload)
        let quality = try Self.quality(in: request.payload, for: media)
        let body: JSONValue = ["url": .string(url.normalized), "quality": .string(quality)]
        var headers = Self.forwardedHeaders(request, range: true)
        headers[.accept] = "*/*"
        return try await upstream.relay(.postJSON(media.upstreamPath, body, headers: headers), logger: request.logger) { response in
            YouTubeStreamHeaders.make(upstream: response.headers, media: media, videoID: url.videoID)
        }
    }

    func healthAnswer(refresh: Bool) async -> HandlerResponse {
        let snapshot = refresh ? await upstream.health.refresh() : await upstream.health.current()
        var object = JSONObject()
        object["status"] = snapshot.healthy ? "healthy" : "unhealthy"
        if let reason = snapshot.reason { object["reason"] = .string(reason) }
        object["service_url"] = .string(UpstreamConfiguration.redacted(upstream.configuration.baseURL))
        object["checked_at"] = .string(Self.timestamp(snapshot.checkedAt))
        object["age_seconds"] = .number(JSONNumber((Date().timeIntervalSince(snapshot.checkedAt) * 1000).rounded() / 1000))
        object["latency_ms"] = .number(JSONNumber((snapshot.latency.secondsValue * 1_000_000).rounded() / 1000))
        object["circuit"] = .string(upstream.breaker.snapshot.state.rawValue)
        if let details = snapshot.details { object["upstream"] = details }
        return HandlerResponse(.object(object), status: snapshot.healthy ? .ok : .serviceUnavailable)
    }

    func discoveryDocument() -> JSONValue {
        let breaker = upstream.breaker.snapshot
        var backend = JSONObject()
        backend["url"] = .string(UpstreamConfiguration.redacted(upstream.configuration.baseURL))
        if let snapshot = upstream.health.cached() {
            var health = JSONObject()
            health["status"] = snapshot.healthy ? "healthy" : "unhealthy"
            if let reason = snapshot.reason { health["reason"] = .string(reason) }
            health["checked_at"] = .string(Self.timestamp(snapshot.checkedAt))
            backend["health"] = .object(health)
        } else {
            backend["health"] = ["status": "unknown", "reason": "not checked yet"]
        }
        var circuit = JSONObject()
        circuit["state"] = .string(breaker.state.rawValue)
        circuit["consecutive_failures"] = .number(JSONNumber(breaker.consecutiveFailures))
        circuit["retry_after"] = breaker.retryAfter.map { .number(JSONNumber(($0.secondsValue * 1000).rounded() / 1000)) } ?? .null
        backend["circuit"] = .object(circuit)
        let endpoints: [JSONValue] = [
            ["method": "GET", "path": .string(prefix), "description": "This document"],
            ["method": "GET", "path": .string(prefix + "/health"), "description": "Downloader health (200 or 503); ?refresh=true probes now"],
            ["method": "POST", "path": .string(prefix + "/info"), "description": "Video metadata; with webhook_url the job runs in the background",
             "body": ["url": "YouTube URL (required)", "webhook_url": "optional", "id": "optional"]],
            ["method": "POST", "path": .string(prefix + "/mp3"), "description": "The audio, streamed",
             "body": ["url": "YouTube URL (required)", "quality": .string(YouTubeMedia.mp3.qualities.joined(separator: " | "))]],
            ["method": "POST", "path": .string(prefix + "/mp4"), "description": "The video, streamed",
             "body": ["url": "YouTube URL (required)", "quality": .string(YouTubeMedia.mp4.qualities.joined(separator: " | "))]],
        ]
        var document = JSONObject()
        document["service"] = "youtube"
        document["description"] = "YouTube info and mp3/mp4 streams, relayed to the YouTube downloader service"
        document["version"] = .string(RouteHostVersion.current)
        document["backend"] = .object(backend)
        document["endpoints"] = .array(endpoints)
        document["configuration"] = upstream.configuration.json
        return .object(document)
    }

    // MARK: Input

    static func videoURL(in payload: JSONValue) throws -> YouTubeURL {
        guard let value = payload["url"], value != .null else {
            throw RouteFailure(.badRequest, "Invalid payload: 'url' is a required property")
        }
        guard let text = value.stringValue, let url = YouTubeURL(text) else {
            throw RouteFailure(.badRequest, "Invalid payload: \(YouTubeURL.requirement)")
        }
        return url
    }

    static func quality(in payload: JSONValue, for media: YouTubeMedia) throws -> String {
        guard let value = payload["quality"], value != .null else { return media.defaultQuality }
        guard let text = value.stringValue, media.qualities.contains(text) else {
            let allowed = media.qualities.map { "'\($0)'" }.joined(separator: ", ")
            throw RouteFailure(.badRequest, "Invalid payload: 'quality' must be one of \(allowed)")
        }
        return text
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

    static func wantsRefresh(_ uri: URI) -> Bool {
        guard let value = uri.queryParameters["refresh"] else { return false }
        return ["true", "1", "yes"].contains(String(value).lowercased())
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
