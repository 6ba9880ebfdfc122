import Foundation
import RouteHost
import RouteHostTestSupport
import Testing

extension LiveYouTubeTests {
    /// JSON answers (`/info`) are read with the read-idle limit of streams: time without a byte,
    /// not a limit on the whole body.
    @Suite struct JSONBodyIdleTests {
        @Test func aSlowButSteadyJSONAnswerIsNotCut() async throws {
            try await YouTubeHarness.run(["YOUTUBE_STREAM_IDLE_TIMEOUT": "0.3"]) { host, fake in
                // About 17 pieces of the ~550-byte answer, 60 ms apart: about a second in all,
                // more than three idle limits, with no pause near one.
                fake.set(.trickle(piece: 32, pause: .milliseconds(60)), for: .info)
                let started = ContinuousClock.now
                let answer = try await host.request(.post, "/v1/media/youtube/info", json: YouTubeHarness.mp3Body())
                let elapsed = ContinuousClock.now - started
                #expect(answer.status == 200, "\(answer.text)")
                #expect(answer.json?["response"]?["data"]?["videoId"] == .string(YouTubeHarness.videoID))
                #expect(elapsed > .milliseconds(600), "the answer was not slow enough to test anything: \(elapsed)")
            }
        }

        @Test func aStalledJSONAnswerEndsAfterTheIdleTimeout() async throws {
            try await YouTubeHarness.run(["YOUTUBE_STREAM_IDLE_TIMEOUT": "0.3"]) { host, fake in
                fake.set(.trickle(piece: 50, pause: .milliseconds(10), stallAfter: 200), for: .info)
                let started = ContinuousClock.now
                let answer = try await host.request(.post, "/v1/media/youtube/info", json: YouTubeHarness.mp3Body())
                let elapsed = ContinuousClock.now - started
                #expect(answer.status == 502)
                #expect(answer.json?["message"]?["error"] == "YouTube service returned an invalid response")
                #expect(answer.json?["message"]?["reason"] == "the answer broke off")
                #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(3), "\(elapsed)")
                #expect(fake.count(.info) == 1, "nothing is retried after the head")
            }
        }
    }
}
