import Foundation
import Hummingbird
import JSONSchema
import RouteHost

/// What serves the five YouTube routes: the relay to a downloader service, the embedded
/// yt-dlp + ffmpeg backend, or nothing (with the reason).
///
/// Every backend answers with the same shapes: `info` returns the downloader's `data` object,
/// streams carry the same headers (``YouTubeStreamHeaders``), errors are JSON.
protocol YouTubeBackend: Sendable {
    /// `service`, `embedded` or `unavailable`.
    var kind: String { get }
    /// The downloader's `data` object for the video.
    func info(_ target: YouTubeTarget, _ request: HandlerRequest) async throws -> JSONValue
    /// The streamed mp3 or mp4 answer.
    func stream(_ media: YouTubeMedia, _ target: YouTubeTarget, quality: String, _ request: HandlerRequest) async throws -> Response
    /// The answer of `GET …/health`.
    func healthAnswer(refresh: Bool) async -> HandlerResponse
    /// What `/health` and the host's discovery show.
    func moduleHealth() async -> ModuleHealth
    /// The discovery document's `backend` object.
    func backendDocument() -> JSONObject
    /// The discovery document's `configuration` object (no secrets).
    var configurationDocument: JSONValue { get }
    func shutdown() async
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
        HandlerResponse(["status": "unhealthy", "backend": "unavailable", "reason": .string(reason), "fix": .string(fix)], status: .serviceUnavailable)
    }

    func moduleHealth() async -> ModuleHealth {
        ModuleHealth(status: .unhealthy, details: ["backend": "unavailable", "reason": .string(reason), "fix": .string(fix)])
    }

    func backendDocument() -> JSONObject {
        ["type": "unavailable", "mode": .string(mode.rawValue), "reason": .string(reason), "fix": .string(fix)]
    }

    var configurationDocument: JSONValue { ["YOUTUBE_BACKEND": .string(mode.rawValue)] }

    func shutdown() async {}
}
