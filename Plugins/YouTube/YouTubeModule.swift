import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import JSONSchema
import RouteHost

/// The YouTube route module (`"plugin": "youtube"`): video info and mp3/mp4 streams, served by a
/// downloader service (the relay) or by yt-dlp and ffmpeg run by the host (the embedded backend).
///
/// Handlers:
/// - `discovery` (plain): the original integration's document (``discoveryDocument()``), plus
///   the backend (type, URL or tool paths, health, circuit state) and the routes with their bodies.
/// - `health` (plain): `200 {"status": "healthy", "microservice", "url", "timeout"}` when the
///   backend is usable, else `503 {"status": "unhealthy" | "unavailable", "error", "url"}`;
///   `?refresh=true` probes the service now.
/// - `info` (envelope, queueable): the downloader's whole answer, `{"success": true, "data",
///   "timestamp"}`, is the envelope's `response` (clients read `response.data.videoId`).
/// - `mp3`, `mp4` (stream): the media, streamed with `Content-Type`, `Content-Disposition`,
///   `X-Video-Title` and `X-Video-Duration`.
///
/// The backend (``YouTubeBackendMode``, `YOUTUBE_BACKEND`): `auto` uses the service when
/// `YOUTUBE_SERVICE_URL` is set in the environment, else the embedded backend when yt-dlp and
/// ffmpeg are found, else the module is unavailable: `/health` and discovery say why and how to
/// fix it, and its routes answer 503 with that message.
///
/// Every handler that takes a URL accepts only YouTube video URLs (``YouTubeURL``), normalised to
/// `https://www.youtube.com/watch?v=ID`, plus URLs on `YOUTUBE_EXTRA_ALLOWED_HOSTS` (empty by
/// default; for tests and private mirrors). That check is the only gate: yt-dlp itself would
/// fetch any site. Anything else is a 400 before any backend work.
///
/// Configuration: `service_url` in routes.json (usually `${YOUTUBE_SERVICE_URL:-http://localhost:3001}`);
/// everything else from the environment with the `YOUTUBE_` prefix (``UpstreamConfiguration``,
/// ``YouTubeEmbeddedSettings``).
public struct YouTubeModule: RouteModule {
    public struct Configuration: Decodable, Sendable {
        /// The downloader's base URL.
        public var service_url: String
    }

    public static let pluginName = "youtube"
    public static let configurationKeys: [String]? = ["service_url"]

    let backend: any YouTubeBackend
    let prefix: String
    let extraHosts: ExtraAllowedHosts

    public init(configuration: Configuration, context: ModuleContext) throws {
        let environment = context.environment
        let modeText = environment.string("YOUTUBE_BACKEND")?.lowercased() ?? "auto"
        guard let mode = YouTubeBackendMode(rawValue: modeText) else {
            throw ModuleConfigurationError(
                message: "YOUTUBE_BACKEND=\(modeText) is not valid", fix: "set YOUTUBE_BACKEND to auto, service or embedded")
        }
        do {
            extraHosts = try ExtraAllowedHosts(list: environment.list("YOUTUBE_EXTRA_ALLOWED_HOSTS"))
        } catch {
            throw ModuleConfigurationError(
                message: "YOUTUBE_EXTRA_ALLOWED_HOSTS entry '\(error.entry)' is not a host name or address with an optional :port",
                fix: "list host names, like 127.0.0.1 or mirror.example:8443, separated by commas")
        }
        prefix = context.prefix
        let useService = mode == .service || (mode == .auto && environment.string("YOUTUBE_SERVICE_URL") != nil)
        if useService {
            backend = try YouTubeServiceBackend(serviceURL: configuration.service_url, context: context)
            return
        }
        switch YouTubeEmbeddedSettings.locateTools(environment) {
        case .success(let tools):
            let settings: YouTubeEmbeddedSettings
            do {
                settings = try YouTubeEmbeddedSettings(ytdlp: tools.ytdlp, ffmpeg: tools.ffmpeg, environment: environment)
            } catch {
                throw ModuleConfigurationError(message: "\(error)", fix: "fix the variable in the environment or .env")
            }
            backend = YouTubeEmbeddedBackend(settings: settings, logger: context.logger, probeVersions: context.isServing)
        case .failure(let missing):
            let reason = mode == .auto
                ? "YOUTUBE_SERVICE_URL is not set and \(missing.reason)" : missing.reason
            backend = UnavailableYouTubeBackend(reason: reason, fix: missing.fix, mode: mode)
            if context.isServing {
                context.logger.warning("YouTube module unavailable", metadata: ["reason": "\(reason)", "fix": "\(missing.fix)"])
            }
        }
    }

    public var handlers: [String: RouteHandler] {
        [
            "discovery": RouteHandler.plain { _ in HandlerResponse(discoveryDocument()) }
                .documented(schema: YouTubeResultSchemas.discovery, example: YouTubeResultSchemas.discoveryExample),
            "health": RouteHandler.plain { request in await backend.healthAnswer(refresh: Self.wantsRefresh(request.uri)) }
                .documented(schema: YouTubeResultSchemas.health, example: YouTubeResultSchemas.healthExample),
            "info": RouteHandler.envelope { request in try await info(request) }
                .documented(schema: YouTubeResultSchemas.info, example: YouTubeResultSchemas.infoExample),
            "mp3": .stream { request in try await stream(.mp3, request) },
            "mp4": .stream { request in try await stream(.mp4, request) },
        ]
    }

    public func health() async -> ModuleHealth {
        await backend.moduleHealth()
    }

    public func shutdown() async {
        await backend.shutdown()
    }

    // MARK: Handlers

    func info(_ request: HandlerRequest) async throws -> HandlerResponse {
        let target = try videoTarget(in: request.payload)
        return HandlerResponse(try await backend.info(target, request))
    }

    func stream(_ media: YouTubeMedia, _ request: HandlerRequest) async throws -> Response {
        let target = try videoTarget(in: request.payload)
        let quality = try Self.quality(in: request.payload, for: media)
        return try await backend.stream(media, target, quality: quality, request)
    }

    /// The discovery document: the original integration's fields first (`service`, `version`,
    /// `microservice_url`, `microservice_healthy`, `microservice_info`, `endpoints` keyed by full
    /// path, `configuration` with `timeout`, `retry_attempts`, `retry_delay`), then RouteHost's
    /// own (`description`, `backend`, `routes` with their bodies). Read from cached state only.
    func discoveryDocument() -> JSONValue {
        let status = backend.serviceStatus()
        var document = JSONObject()
        document["service"] = "YouTube Integration"
        document["version"] = .string(RouteHostVersion.current)
        document["microservice_url"] = status.url.map(JSONValue.string) ?? .null
        document["microservice_healthy"] = .bool(status.healthy)
        document["microservice_info"] = .object(status.info)
        var endpoints = JSONObject()
        for (path, summary) in [
            ("", "GET - Service information"), ("/health", "GET - Health check"), ("/info", "POST - Get video information"),
            ("/mp3", "POST - Download audio as MP3 (streaming)"), ("/mp4", "POST - Download video as MP4 (streaming)"),
        ] {
            endpoints[prefix + path] = .string(summary)
        }
        document["endpoints"] = .object(endpoints)
        var configuration = backend.configurationDocument.objectValue ?? JSONObject()
        configuration["YOUTUBE_EXTRA_ALLOWED_HOSTS"] = .array(extraHosts.descriptions.map(JSONValue.string))
        document["configuration"] = .object(configuration)
        document["description"] = switch backend.kind {
        case "service": "YouTube info and mp3/mp4 streams, relayed to the YouTube downloader service"
        case "embedded": "YouTube info and mp3/mp4 streams, made by yt-dlp and ffmpeg on this host"
        default: "YouTube info and mp3/mp4 streams: no backend available (see backend.reason)"
        }
        document["backend"] = .object(backend.backendDocument())
        document["routes"] = .array([
            ["method": "GET", "path": .string(prefix), "description": "This document"],
            ["method": "GET", "path": .string(prefix + "/health"), "description": "Backend health (200 or 503); ?refresh=true probes now"],
            ["method": "POST", "path": .string(prefix + "/info"), "description": "Video metadata; with webhook_url the job runs in the background",
             "body": ["url": "YouTube URL (required)", "webhook_url": "optional", "id": "optional"]],
            ["method": "POST", "path": .string(prefix + "/mp3"), "description": "The audio as MP3, streamed",
             "body": ["url": "YouTube URL (required)", "quality": .string(YouTubeMedia.mp3.qualities.joined(separator: " | "))]],
            ["method": "POST", "path": .string(prefix + "/mp4"), "description": "The video as MP4, streamed",
             "body": ["url": "YouTube URL (required)", "quality": .string(YouTubeMedia.mp4.qualities.joined(separator: " | "))]],
        ])
        return .object(document)
    }

    // MARK: Input

    func videoTarget(in payload: JSONValue) throws -> YouTubeTarget {
        guard let value = payload["url"], value != .null else {
            throw RouteFailure(.badRequest, "Invalid payload: 'url' is a required property")
        }
        guard let text = value.stringValue, let target = YouTubeTarget(text, extraHosts: extraHosts) else {
            throw RouteFailure(.badRequest, "Invalid payload: \(YouTubeURL.requirement)")
        }
        return target
    }

    static func quality(in payload: JSONValue, for media: YouTubeMedia) throws -> String {
        guard let value = payload["quality"], value != .null else { return media.defaultQuality }
        guard let text = value.stringValue, media.qualities.contains(text) else {
            let allowed = media.qualities.map { "'\($0)'" }.joined(separator: ", ")
            throw RouteFailure(.badRequest, "Invalid payload: 'quality' must be one of \(allowed)")
        }
        return text
    }

    static func wantsRefresh(_ uri: URI) -> Bool {
        guard let value = uri.queryParameters["refresh"] else { return false }
        return ["true", "1", "yes"].contains(String(value).lowercased())
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
