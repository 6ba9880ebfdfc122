import Foundation
import Hummingbird
import JSONSchema
import RouteHost

/// What serves the five YouTube routes: the relay to a downloader service, the embedded
/// yt-dlp + ffmpeg backend, or nothing (with the reason).
///
/// Every backend answers with the same shapes, the original integration's: `info` returns the
/// downloader's whole answer (`{"success": true, "data": {...}, "timestamp"}`), health answers
/// `{"status", "microservice" | "error", "url", ...}`, streams carry the same headers
/// (``YouTubeStreamHeaders``), errors are JSON.
protocol YouTubeBackend: Sendable {
    /// `service`, `embedded` or `unavailable`.
    var kind: String { get }
    /// The downloader's answer for the video, `{"success": true, "data": {...}, "timestamp"}`,
    /// with its members as they came.
    func info(_ target: YouTubeTarget, _ request: HandlerRequest) async throws -> JSONValue
    /// The streamed mp3 or mp4 answer.
    func stream(_ media: YouTubeMedia, _ target: YouTubeTarget, quality: String, _ request: HandlerRequest) async throws -> Response
    /// The answer of `GET …/health`: `200 {"status": "healthy", "microservice", "url", "timeout"}`
    /// or `503 {"status": "unhealthy" | "unavailable", "error", "url"}`, plus fields of our own.
    func healthAnswer(refresh: Bool) async -> HandlerResponse
    /// What `/health` and the host's discovery show.
    func moduleHealth() async -> ModuleHealth
    /// What discovery says of the backend in the original's fields; from cached state only
    /// (never a call to the service on the request's path).
    func serviceStatus() -> YouTubeServiceStatus
    /// The discovery document's `backend` object.
    func backendDocument() -> JSONObject
    /// The discovery document's `configuration` object (no secrets), with the original's
    /// `timeout`, `retry_attempts` and `retry_delay` (seconds, count, seconds) among its keys.
    var configurationDocument: JSONValue { get }
    func shutdown() async
}

/// The backend as the original's discovery document describes its downloader service.
struct YouTubeServiceStatus: Sendable {
    /// The service's URL without credentials; nil for the embedded backend and without one.
    var url: String?
    /// Whether the last health check (or the tools' probe) found the backend usable.
    var healthy: Bool
    /// The service's `GET /` answer, or the tools' description; empty when unhealthy.
    var info: JSONObject
}

/// How `YOUTUBE_BACKEND` chooses the backend.
///
/// - `service`: always the relay, to `service_url` (routes.json; by default
///   `${YOUTUBE_SERVICE_URL:-http://localhost:3001}`).
/// - `embedded`: always yt-dlp + ffmpeg; when they cannot be found the module is unavailable.
/// - `auto` (default): the relay when the environment variable `YOUTUBE_SERVICE_URL` is set and
///   not empty; else the embedded backend when yt-dlp and ffmpeg are found; else unavailable.
///
/// "Set" is read from the environment (process environment over `.env`), not from the
/// configuration: routes.json fills `service_url` with a default whether or not the variable is
/// set, so the configured value cannot tell. A routes.json that hard-codes `service_url` must say
/// `YOUTUBE_BACKEND=service` to use it.
enum YouTubeBackendMode: String, Sendable, CaseIterable {
    case auto
    case service
    case embedded
}

/// The backend of a module that has none: every route answers 503 with the reason and the fix.
struct UnavailableYouTubeBackend: YouTubeBackend {
    var reason: String
    var fix: String
    var mode: YouTubeBackendMode

    var kind: String { "unavailable" }

    var failureBody: JSONObject {
        ["error": .string("YouTube backend unavailable: \(reason)"), "code": "backend_unavailable", "fix": .string(fix)]
    }

    func failure() -> RouteFailure {
        RouteFailure(.serviceUnavailable, message: .object(failureBody), body: .object(failureBody))
    }

    func info(_ target: YouTubeTarget, _ request: HandlerRequest) async throws -> JSONValue { throw failure() }

    func stream(_ media: YouTubeMedia, _ target: YouTubeTarget, quality: String, _ request: HandlerRequest) async throws -> Response {
        throw failure()
    }

    func healthAnswer(refresh: Bool) async -> HandlerResponse {
        HandlerResponse(
            ["status": "unavailable", "error": .string("YouTube backend unavailable: \(reason)"), "url": .null,
             "backend": "unavailable", "fix": .string(fix)],
            status: .serviceUnavailable)
    }

    func moduleHealth() async -> ModuleHealth {
        ModuleHealth(status: .unhealthy, details: ["backend": "unavailable", "reason": .string(reason), "fix": .string(fix)])
    }

    func serviceStatus() -> YouTubeServiceStatus {
        YouTubeServiceStatus(url: nil, healthy: false, info: [:])
    }

    func backendDocument() -> JSONObject {
        ["type": "unavailable", "mode": .string(mode.rawValue), "reason": .string(reason), "fix": .string(fix)]
    }

    var configurationDocument: JSONValue {
        ["timeout": 0, "retry_attempts": 0, "retry_delay": 0, "YOUTUBE_BACKEND": .string(mode.rawValue)]
    }

    func shutdown() async {}
}
