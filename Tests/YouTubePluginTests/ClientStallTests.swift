import AsyncHTTPClient
import Foundation
import NIOCore
import RouteHost
import RouteHostTestSupport
import Testing

extension LiveYouTubeTests {
    /// `YOUTUBE_CLIENT_STALL_TIMEOUT`: a client that stops reading a stream is cut off, and its
    /// upstream request cancelled, instead of holding both (and a pooled connection) forever.
    @Suite struct ClientStallTests {
        @Test func aClientThatStopsReadingIsCutOffAndTheUpstreamCancelled() async throws {
            let settings = ["YOUTUBE_CLIENT_STALL_TIMEOUT": "0.5", "YOUTUBE_STREAM_IDLE_TIMEOUT": "30", "YOUTUBE_POOL_SIZE": "1"]
            try await YouTubeHarness.run(settings) { host, fake in
                fake.media = .init(size: 4 << 30, chunkSize: DeterministicBytes.maxChunk)
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body())
                #expect(response.status == .ok)
                var iterator = response.body.makeAsyncIterator()
                var verifier = DeterministicBytes.Verifier()
                while verifier.count < 1 << 20, let chunk = try await iterator.next() { verifier.feed(chunk) }

                // Stop reading, keeping the connection open (the iterator is held). The only
                // upstream connection (pool size 1) is busy with this stream: a JSON request must
                // wait for the cut-off to free it.
                let stopped = ContinuousClock.now
                async let info = host.request(.post, "/v1/media/youtube/info", json: YouTubeHarness.mp3Body())
                try await fake.waitUntil(timeout: .seconds(15)) { $0.streams.contains { $0.route == .mp4 } }
                let cutOffAfter = ContinuousClock.now - stopped
                let record = try #require(fake.stats.streams.first { $0.route == .mp4 })
                #expect(record.outcome == .clientClosed, "the upstream must see the cancellation")
                #expect(cutOffAfter >= .milliseconds(450) && cutOffAfter < .seconds(5), "cut off after \(cutOffAfter)")
                #expect(try await info.status == 200, "the pooled connection is free again")

                // Reading again drains what was in flight, then the body ends short of its length.
                var ended: (any Error)?
                do {
                    while let chunk = try await iterator.next() { verifier.feed(chunk) }
                } catch {
                    ended = error
                }
                #expect(ended != nil, "the client must see an incomplete transfer, got \(verifier.count) bytes")
                #expect(verifier.isExact && verifier.count < 4 << 30)
                print("stalled client: cut off after \(cutOffAfter); upstream sent \(record.bytesSent) bytes, client got \(verifier.count)")
            }
        }

        @Test func aClientPausingForLessThanTheStallTimeoutIsNotCutOff() async throws {
            try await YouTubeHarness.run(["YOUTUBE_CLIENT_STALL_TIMEOUT": "3"]) { host, fake in
                fake.media = .init(size: 48 << 20, chunkSize: DeterministicBytes.maxChunk)
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                var verifier = DeterministicBytes.Verifier()
                // Two pauses whose sum exceeds the limit: the limit is per write, not per stream.
                // Between them the client reads far more than the socket buffers hold (a few MiB
                // once autotuned), so that the relay sees its writes move again.
                var pauses = [8 << 20, 24 << 20]
                for try await chunk in response.body {
                    verifier.feed(chunk)
                    if let next = pauses.first, verifier.count > next {
                        pauses.removeFirst()
                        // well under the limit, so a loaded machine's delays do not make it one
                        try await Task.sleep(for: .milliseconds(1700))
                    }
                }
                #expect(verifier.count == 48 << 20 && verifier.isExact)
                #expect(fake.stats.streams.first?.outcome == .complete)
            }
        }
    }
}
