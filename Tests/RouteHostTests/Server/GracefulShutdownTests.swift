import AsyncHTTPClient
import Foundation
import NIOCore
import RouteHost
import RouteHostTestSupport
import Testing

/// SIGTERM on a real `routehost` process with a stream in flight.
@Suite struct GracefulShutdownTests {
    static var repositoryManifest: String {
        var directory = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("routes.json").path
    }

    @Test(.timeLimit(.minutes(1)))
    func sigtermDrainsForTheGraceThenExitsZero() async throws {
        try await FakeDownloader.withRunning { fake in
            fake.media.size = 64 << 20
            fake.set(.stallAfter(bytes: 256 * 1024), for: .mp4)
            try await TemporaryDirectory.with { directory in
                let host = try await ChildHost.start(manifest: Self.repositoryManifest, directory: directory, environment: [
                    "API_KEY": "shutdown-key", "YOUTUBE_SERVICE_URL": fake.baseURL, "SHUTDOWN_GRACE_SECONDS": "1",
                    "YOUTUBE_STREAM_IDLE_TIMEOUT": "120", "LOCAL_STORAGE_PATH": directory + "/storage", "LOG_LEVEL": "critical",
                    "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                ])
                let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
                var request = HTTPClientRequest(url: host.baseURL + "/v1/media/youtube/mp4")
                request.method = .POST
                request.headers.add(name: "X-API-Key", value: "shutdown-key")
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: #"{"url":"https://youtu.be/dQw4w9WgXcQ"}"#))
                let response = try await client.execute(request, timeout: .seconds(30))
                #expect(response.status == .ok)
                var iterator = response.body.makeAsyncIterator()
                _ = try await iterator.next()

                let started = ContinuousClock.now
                let status = await host.terminate(timeout: .seconds(30))
                let elapsed = ContinuousClock.now - started
                #expect(status == 0)
                #expect(elapsed >= .milliseconds(900), "the stream in flight was given the grace period")
                #expect(elapsed < .seconds(15), "the drain is bounded by SHUTDOWN_GRACE_SECONDS (plus the cancellation limit)")

                var ended = false
                var received = 0
                do {
                    while let chunk = try await iterator.next() { received += chunk.readableBytes }
                } catch {
                    ended = true
                }
                #expect(received < 64 << 20)
                #expect(ended, "the unfinished stream ends as an incomplete transfer")
                try await client.shutdown()
            }
        }
    }
}
