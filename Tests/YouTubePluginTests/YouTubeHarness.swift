import AsyncHTTPClient
import Foundation
import Testing
import HTTPTypes
import NIOCore
import RouteHost
import RouteHostTestSupport
import YouTubePlugin

/// Every test that runs a live host and a fake downloader, one at a time: their timing bounds
/// (backoff, breaker, idle timeouts) and the large stream's throughput assume they do not share
/// the machine's two cores with each other.
@Suite(.serialized) enum LiveYouTubeTests {}

/// The repository's routes.json mounted on a live host, relaying to a fresh fake downloader.
enum YouTubeHarness {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Settings that keep the tests fast: tiny delays, no jitter surprises beyond 50 %.
    static let fastSettings: [String: String] = [
        "YOUTUBE_RETRY_ATTEMPTS": "3",
        "YOUTUBE_RETRY_DELAY": "0.01",
        "YOUTUBE_SERVICE_TIMEOUT": "5",
        "YOUTUBE_CONNECT_TIMEOUT": "2",
        "YOUTUBE_STREAM_IDLE_TIMEOUT": "5",
        "YOUTUBE_BREAKER_THRESHOLD": "0",
        "YOUTUBE_HEALTH_TTL": "30",
    ]

    /// - Parameter socketBufferBytes: fixed socket buffers for the fake's and the host's accepted
    ///   connections (``SocketBuffers``); nil: the kernel's autotuning.
    static func run(
        _ settings: [String: String] = [:], serviceURL: String? = nil, socketBufferBytes: Int? = nil, clock: HostClock = .system,
        _ body: (LiveHost, FakeDownloader) async throws -> Void
    ) async throws {
        try await FakeDownloader.withRunning(socketBufferBytes: socketBufferBytes) { fake in
            var environment = fastSettings.merging(settings) { _, new in new }
            environment["YOUTUBE_SERVICE_URL"] = serviceURL ?? fake.baseURL
            try await LiveHost.withRunning(
                manifestPath: repositoryRoot.appendingPathComponent("routes.json").path, environment: environment,
                catalog: .withBuiltIns([YouTubeModule.self]), socketBufferBytes: socketBufferBytes, clock: clock
            ) { host in
                try await body(host, fake)
            }
        }
    }

    static let videoID = "dQw4w9WgXcQ"
    static let watchURL = "https://www.youtube.com/watch?v=\(videoID)"

    /// Starts a streamed POST and returns the answer with its body still unread.
    static func stream(_ host: LiveHost, _ path: String, json: String, headers: HTTPFields = [:]) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: host.baseURL + path)
        request.method = .POST
        request.headers.add(name: "X-API-Key", value: host.apiKey)
        request.headers.add(name: "Content-Type", value: "application/json")
        for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
        request.body = .bytes(ByteBuffer(string: json))
        return try await host.client.execute(request, timeout: .seconds(30))
    }

    /// Reads a streamed body to its end, verifying it against the fake's bytes from `offset`.
    /// - Returns: the verifier, and the error that ended the body early, if any.
    static func consume(_ response: HTTPClientResponse, from offset: Int = 0) async -> (DeterministicBytes.Verifier, (any Error)?) {
        var verifier = DeterministicBytes.Verifier(startingAt: offset)
        do {
            for try await chunk in response.body { verifier.feed(chunk) }
            return (verifier, nil)
        } catch {
            return (verifier, error)
        }
    }

    static func mp3Body(_ url: String = watchURL, quality: String? = nil) -> String {
        quality.map { #"{"url":"\#(url)","quality":"\#($0)"}"# } ?? #"{"url":"\#(url)"}"#
    }
}
